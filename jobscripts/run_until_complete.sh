# Sourced by the cluster job scripts once their environment is set: one pass of 'pzmpi run "$PZMPI_CONFIG"' that
# stops cleanly at the walltime warning, then the job submitted again while the run is incomplete.
#
# '#SBATCH --signal=B:TERM@120' has Slurm send SIGTERM to this script 2 minutes before the time limit. It is
# passed on to the run, whose ranks stop after their current chunk; the run ends with status 75 (docs/output.md)
# once its profile is written. The job is then submitted again, to start after this one (Slurm's afterany), and
# the next pass skips every finished piece. A pass that finished no piece is not resubmitted: a run that cannot
# progress in one allocation (too short a --time, a piece too big) stops there instead of looping.

EXIT_STOPPED=75

echo "pzmpi job $SLURM_JOB_ID start $(date -Is) on ${SLURM_JOB_NUM_NODES:-1} nodes, $SLURM_NTASKS ranks"
env | sort > "pzmpi-$SLURM_JOB_ID.env"
if [ "$PZMPI_LAUNCH" = srun ]; then
    # --kill-on-bad-exit: a rank that dies ends the step at once instead of leaving the others waiting
    srun --kill-on-bad-exit=1 --cpu-bind=cores pzmpi run "$PZMPI_CONFIG" &
else
    mpiexec -n "$SLURM_NTASKS" pzmpi run "$PZMPI_CONFIG" &
fi
step=$!
trap 'echo "pzmpi job $SLURM_JOB_ID: SIGTERM at $(date -Is), the run stops after its current chunk"
      kill -TERM "$step" 2>/dev/null' TERM
while kill -0 "$step" 2>/dev/null; do
    wait "$step"  # returns early when the trap runs; the loop waits on until the run has ended
done
wait "$step"
status=$?
echo "pzmpi job $SLURM_JOB_ID end $(date -Is) status $status"

if [ "$status" -eq "$EXIT_STOPPED" ]; then
    finished=$(python - "$PZMPI_CONFIG" <<'PY'
import json, sys
from pathlib import Path
from pzmpi.estimators.config import load_config
profile = Path(load_config(sys.argv[1]).output.folder) / "profile.json"
print(json.loads(profile.read_text())["counters"].get("pieces_done", 0))
PY
)
    if [ "${finished:-0}" -gt 0 ]; then
        echo "pzmpi job $SLURM_JOB_ID: $finished piece(s) finished in this pass; submitting the next pass"
        sbatch --dependency="afterany:$SLURM_JOB_ID" --export=ALL "$PZMPI_JOBSCRIPT"
    else
        echo "pzmpi job $SLURM_JOB_ID: no piece finished in this pass: not submitting another" \
             "(give the job more --time, or smaller pieces: run.max_rows_per_piece)"
    fi
fi
exit "$status"
