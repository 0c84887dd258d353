	.file	"<string>"
	.section	.ltext,"axl",@progbits
	.globl	_ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE
	.p2align	4
	.type	_ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE,@function
_ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE:
	pushq	%rbp
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	pushq	%rbx
	movq	%rdi, -8(%rsp)
	movq	280(%rsp), %rdi
	movq	272(%rsp), %r13
	subq	%r13, %rdi
	jle	.LBB0_22
	movq	72(%rsp), %r8
	movq	152(%rsp), %rax
	movq	128(%rsp), %r15
	movq	56(%rsp), %rdx
	movq	328(%rsp), %rcx
	leaq	(,%r8,8), %rsi
	leaq	(,%rax,8), %r9
	leaq	(%r15,%r13,8), %r14
	movq	%rax, %rbx
	shlq	$4, %rbx
	movq	%rbx, -16(%rsp)
	leaq	(%rsi,%rsi,2), %r10
	leaq	(%rdx,%r8,8), %rsi
	leaq	(%r9,%r9,4), %rbp
	leaq	(%rdx,%r10), %r8
	movq	%rax, %rdx
	shlq	$5, %rdx
	cmpq	$16, %rdi
	jae	.LBB0_3
	xorl	%r11d, %r11d
.LBB0_17:
	movq	280(%rsp), %rbx
	movq	%r11, %r12
	notq	%r12
	movl	%ebx, %r10d
	subl	%r13d, %r10d
	addq	%rbx, %r12
	testb	$1, %r10b
	je	.LBB0_19
	vmovsd	(%r14,%r11,8), %xmm0
	leaq	(%r14,%r11,8), %r10
	vxorpd	%xmm2, %xmm2, %xmm2
	movq	-16(%rsp), %rbx
	vmulsd	(%r8), %xmm0, %xmm1
	vmulsd	%xmm0, %xmm0, %xmm0
	vmulsd	(%rsi), %xmm0, %xmm0
	vaddsd	%xmm2, %xmm1, %xmm1
	vaddsd	%xmm2, %xmm0, %xmm0
	vmovsd	(%r10,%rax,8), %xmm2
	vmulsd	8(%r8), %xmm2, %xmm3
	vmulsd	%xmm2, %xmm2, %xmm2
	vmulsd	8(%rsi), %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vaddsd	%xmm2, %xmm0, %xmm0
	vmovsd	(%rbx,%r10), %xmm2
	leaq	(%r9,%r9,2), %rbx
	vmulsd	16(%r8), %xmm2, %xmm3
	vmulsd	%xmm2, %xmm2, %xmm2
	vmulsd	16(%rsi), %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vaddsd	%xmm2, %xmm0, %xmm0
	vmovsd	(%rbx,%r10), %xmm2
	vmulsd	24(%r8), %xmm2, %xmm3
	vmulsd	%xmm2, %xmm2, %xmm2
	vmulsd	24(%rsi), %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vaddsd	%xmm2, %xmm0, %xmm0
	vmovsd	(%rdx,%r10), %xmm2
	vmulsd	32(%r8), %xmm2, %xmm3
	vmulsd	%xmm2, %xmm2, %xmm2
	vmulsd	32(%rsi), %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vaddsd	%xmm2, %xmm0, %xmm0
	vmovsd	(%rbp,%r10), %xmm2
	vmulsd	40(%r8), %xmm2, %xmm3
	vmulsd	%xmm2, %xmm2, %xmm2
	vmulsd	40(%rsi), %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vaddsd	%xmm2, %xmm0, %xmm0
	vdivsd	%xmm0, %xmm1, %xmm0
	vmovsd	%xmm0, (%rcx,%r11,8)
	orq	$1, %r11
.LBB0_19:
	cmpq	%r13, %r12
	je	.LBB0_22
	leaq	8(%r15,%r13,8), %r10
	vxorpd	%xmm0, %xmm0, %xmm0
	.p2align	4
.LBB0_21:
	vmovsd	-8(%r10,%r11,8), %xmm1
	leaq	(%r10,%r11,8), %rbx
	vmulsd	(%r8), %xmm1, %xmm2
	vmovsd	-8(%rbx,%rax,8), %xmm3
	leaq	-8(%rbx,%rax,8), %r14
	vmulsd	8(%r8), %xmm3, %xmm4
	leaq	(%r14,%r9), %r15
	leaq	(%r15,%r9), %r12
	leaq	(%r12,%r9), %r13
	vmulsd	%xmm1, %xmm1, %xmm1
	vmulsd	(%rsi), %xmm1, %xmm1
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	8(%rsi), %xmm3, %xmm3
	vaddsd	%xmm0, %xmm2, %xmm2
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm0, %xmm1, %xmm1
	vaddsd	%xmm3, %xmm1, %xmm1
	vmovsd	(%r9,%r14), %xmm3
	vmulsd	16(%r8), %xmm3, %xmm4
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	16(%rsi), %xmm3, %xmm3
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vmovsd	(%r9,%r15), %xmm3
	vmulsd	24(%r8), %xmm3, %xmm4
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	24(%rsi), %xmm3, %xmm3
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vmovsd	(%r9,%r12), %xmm3
	vmulsd	32(%r8), %xmm3, %xmm4
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	32(%rsi), %xmm3, %xmm3
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vmovsd	(%r9,%r13), %xmm3
	vmulsd	40(%r8), %xmm3, %xmm4
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	40(%rsi), %xmm3, %xmm3
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vdivsd	%xmm1, %xmm2, %xmm1
	vmovsd	%xmm1, (%rcx,%r11,8)
	vmovsd	(%r10,%r11,8), %xmm1
	vmovsd	(%rbx,%rax,8), %xmm3
	vmulsd	(%r8), %xmm1, %xmm2
	vmulsd	8(%r8), %xmm3, %xmm4
	vmulsd	%xmm1, %xmm1, %xmm1
	vmulsd	(%rsi), %xmm1, %xmm1
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	8(%rsi), %xmm3, %xmm3
	vaddsd	%xmm0, %xmm2, %xmm2
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm0, %xmm1, %xmm1
	vaddsd	%xmm3, %xmm1, %xmm1
	vmovsd	8(%r9,%r14), %xmm3
	vmulsd	16(%r8), %xmm3, %xmm4
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	16(%rsi), %xmm3, %xmm3
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vmovsd	8(%r9,%r15), %xmm3
	vmulsd	24(%r8), %xmm3, %xmm4
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	24(%rsi), %xmm3, %xmm3
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vmovsd	8(%r9,%r12), %xmm3
	vmulsd	32(%r8), %xmm3, %xmm4
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	32(%rsi), %xmm3, %xmm3
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vmovsd	8(%r9,%r13), %xmm3
	vmulsd	40(%r8), %xmm3, %xmm4
	vmulsd	%xmm3, %xmm3, %xmm3
	vmulsd	40(%rsi), %xmm3, %xmm3
	vaddsd	%xmm4, %xmm2, %xmm2
	vaddsd	%xmm3, %xmm1, %xmm1
	vdivsd	%xmm1, %xmm2, %xmm1
	vmovsd	%xmm1, 8(%rcx,%r11,8)
	addq	$2, %r11
	cmpq	%r11, %rdi
	jne	.LBB0_21
	jmp	.LBB0_22
.LBB0_3:
	leaq	(,%r13,8), %r15
	movq	%rbp, %r12
	movq	%rdx, -80(%rsp)
	movq	%r15, -32(%rsp)
	movq	280(%rsp), %r15
	leaq	(%rcx,%r15,8), %r11
	movq	%r15, %rbp
	movq	128(%rsp), %r15
	subq	-32(%rsp), %r11
	addq	%r12, %r15
	leaq	(%r15,%r13,8), %r12
	leaq	(%r15,%rbp,8), %r15
	movq	%r15, -64(%rsp)
	movq	128(%rsp), %r15
	movq	%r12, -40(%rsp)
	movq	%rbp, %r12
	cmpq	-64(%rsp), %rcx
	leaq	(%r15,%rdx), %rbp
	leaq	(%r9,%r9,2), %r15
	leaq	(%rbp,%r13,8), %rdx
	leaq	(%rbp,%r12,8), %rbp
	movq	128(%rsp), %r12
	setb	-32(%rsp)
	cmpq	%r11, -40(%rsp)
	movq	%rdx, -56(%rsp)
	movq	72(%rsp), %rdx
	leaq	(%r12,%r15), %r12
	movq	56(%rsp), %r15
	setb	-40(%rsp)
	cmpq	%rbp, %rcx
	setb	-64(%rsp)
	cmpq	%r11, -56(%rsp)
	leaq	48(%r15,%r10), %r10
	leaq	48(%r15,%rdx,8), %rdx
	leaq	(%r12,%r13,8), %r15
	setb	-56(%rsp)
	movq	%r10, -24(%rsp)
	movq	%r12, %r10
	movq	280(%rsp), %r12
	movq	%rdx, -48(%rsp)
	movq	128(%rsp), %rdx
	movq	%r15, -72(%rsp)
	leaq	(%r10,%r12,8), %r10
	addq	%rbx, %rdx
	leaq	(%rdx,%r12,8), %rbp
	leaq	(%rdx,%r13,8), %r15
	movq	128(%rsp), %rdx
	cmpq	%r10, %rcx
	leaq	(%r13,%rax), %r10
	setb	-81(%rsp)
	cmpq	%r11, -72(%rsp)
	leaq	(%rdx,%r10,8), %r10
	movq	%r12, %rdx
	leaq	(%r12,%rax), %r12
	setb	-72(%rsp)
	cmpq	%rbp, %rcx
	setb	%bl
	cmpq	%r11, %r15
	movq	128(%rsp), %r15
	setb	-82(%rsp)
	leaq	(%r15,%r12,8), %r12
	cmpq	%r12, %rcx
	setb	%bpl
	cmpq	%r11, %r10
	leaq	(%r15,%rdx,8), %r10
	movzbl	-40(%rsp), %edx
	setb	-83(%rsp)
	cmpq	%r10, %rcx
	setb	%r13b
	cmpq	%r11, %r14
	setb	-84(%rsp)
	cmpq	-48(%rsp), %rcx
	setb	%r12b
	cmpq	%r11, %rsi
	setb	-48(%rsp)
	cmpq	-24(%rsp), %rcx
	setb	%r10b
	cmpq	%r11, %r8
	setb	-24(%rsp)
	xorl	%r11d, %r11d
	testb	%dl, -32(%rsp)
	jne	.LBB0_4
	movzbl	-56(%rsp), %edx
	andb	%dl, -64(%rsp)
	jne	.LBB0_4
	movzbl	-72(%rsp), %edx
	andb	%dl, -81(%rsp)
	jne	.LBB0_4
	andb	-82(%rsp), %bl
	jne	.LBB0_4
	movq	-80(%rsp), %rdx
	andb	-83(%rsp), %bpl
	jne	.LBB0_9
	andb	-84(%rsp), %r13b
	leaq	(%r9,%r9,4), %rbp
	jne	.LBB0_11
	movq	272(%rsp), %r13
	andb	-48(%rsp), %r12b
	jne	.LBB0_17
	andb	-24(%rsp), %r10b
	jne	.LBB0_17
	vbroadcastsd	40(%rsi), %zmm0
	vbroadcastsd	40(%r8), %zmm1
	vbroadcastsd	32(%rsi), %zmm2
	vbroadcastsd	32(%r8), %zmm3
	vbroadcastsd	24(%rsi), %zmm4
	vbroadcastsd	24(%r8), %zmm5
	vbroadcastsd	16(%rsi), %zmm6
	vbroadcastsd	16(%r8), %zmm7
	vbroadcastsd	8(%rsi), %zmm8
	vbroadcastsd	8(%r8), %zmm9
	vbroadcastsd	(%rsi), %zmm10
	vbroadcastsd	(%r8), %zmm11
	movabsq	$9223372036854775800, %r11
	xorl	%r12d, %r12d
	vxorpd	%xmm12, %xmm12, %xmm12
	andq	%rdi, %r11
	.p2align	4
.LBB0_15:
	vmovupd	(%r14,%r12,8), %zmm13
	leaq	(%r14,%r12,8), %r10
	vmovupd	(%r10,%rax,8), %zmm15
	leaq	(%r10,%rax,8), %rbx
	vmovupd	(%r9,%rbx), %zmm18
	addq	%r9, %rbx
	vmovupd	(%r9,%rbx), %zmm17
	addq	%r9, %rbx
	vmulpd	%zmm11, %zmm13, %zmm14
	vmulpd	%zmm13, %zmm13, %zmm13
	vmulpd	%zmm9, %zmm15, %zmm16
	vmulpd	%zmm15, %zmm15, %zmm15
	vmulpd	%zmm10, %zmm13, %zmm13
	vaddpd	%zmm12, %zmm14, %zmm14
	vmulpd	%zmm8, %zmm15, %zmm15
	vaddpd	%zmm12, %zmm13, %zmm13
	vaddpd	%zmm16, %zmm14, %zmm14
	vmulpd	%zmm7, %zmm18, %zmm16
	vaddpd	%zmm15, %zmm13, %zmm13
	vmulpd	%zmm18, %zmm18, %zmm15
	vmovupd	(%r9,%rbx), %zmm18
	addq	%r9, %rbx
	vaddpd	%zmm16, %zmm14, %zmm14
	vmulpd	%zmm5, %zmm17, %zmm16
	vmulpd	%zmm6, %zmm15, %zmm15
	vaddpd	%zmm16, %zmm14, %zmm14
	vaddpd	%zmm15, %zmm13, %zmm13
	vmulpd	%zmm17, %zmm17, %zmm15
	vmovupd	(%r9,%rbx), %zmm17
	vmulpd	%zmm3, %zmm18, %zmm16
	vmulpd	%zmm4, %zmm15, %zmm15
	vaddpd	%zmm16, %zmm14, %zmm14
	vaddpd	%zmm15, %zmm13, %zmm13
	vmulpd	%zmm18, %zmm18, %zmm15
	vmulpd	%zmm1, %zmm17, %zmm16
	vmulpd	%zmm2, %zmm15, %zmm15
	vaddpd	%zmm16, %zmm14, %zmm14
	vaddpd	%zmm15, %zmm13, %zmm13
	vmulpd	%zmm17, %zmm17, %zmm15
	vmulpd	%zmm0, %zmm15, %zmm15
	vaddpd	%zmm15, %zmm13, %zmm13
	vdivpd	%zmm13, %zmm14, %zmm13
	vmovupd	%zmm13, (%rcx,%r12,8)
	addq	$8, %r12
	cmpq	%r12, %r11
	jne	.LBB0_15
	movq	-80(%rsp), %rdx
	cmpq	%r11, %rdi
	jne	.LBB0_17
.LBB0_22:
	movq	-8(%rsp), %rax
	movq	$0, (%rax)
	xorl	%eax, %eax
	popq	%rbx
	popq	%r12
	popq	%r13
	popq	%r14
	popq	%r15
	popq	%rbp
	vzeroupper
	retq
.LBB0_11:
	movq	272(%rsp), %r13
	jmp	.LBB0_17
.LBB0_4:
	movq	272(%rsp), %r13
	movq	-80(%rsp), %rdx
	leaq	(%r9,%r9,4), %rbp
	jmp	.LBB0_17
.LBB0_9:
	movq	272(%rsp), %r13
	leaq	(%r9,%r9,4), %rbp
	jmp	.LBB0_17
.Lfunc_end0:
	.size	_ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE, .Lfunc_end0-_ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE

	.globl	_ZN7cpython8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE
	.p2align	4
	.type	_ZN7cpython8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE,@function
_ZN7cpython8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	pushq	%r15
	.cfi_def_cfa_offset 24
	pushq	%r14
	.cfi_def_cfa_offset 32
	pushq	%r13
	.cfi_def_cfa_offset 40
	pushq	%r12
	.cfi_def_cfa_offset 48
	pushq	%rbx
	.cfi_def_cfa_offset 56
	subq	$472, %rsp
	.cfi_def_cfa_offset 528
	.cfi_offset %rbx, -56
	.cfi_offset %r12, -48
	.cfi_offset %r13, -40
	.cfi_offset %r14, -32
	.cfi_offset %r15, -24
	.cfi_offset %rbp, -16
	leaq	64(%rsp), %rbx
	movq	%rsi, %rdi
	leaq	72(%rsp), %r14
	leaq	80(%rsp), %r15
	leaq	88(%rsp), %r12
	leaq	96(%rsp), %r13
	leaq	104(%rsp), %rbp
	leaq	112(%rsp), %r10
	movabsq	$".const.make.<locals>.block_ab", %rsi
	movabsq	$PyArg_UnpackTuple, %r11
	leaq	136(%rsp), %r8
	movl	$10, %edx
	movl	$10, %ecx
	leaq	128(%rsp), %r9
	xorl	%eax, %eax
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	pushq	%r10
	.cfi_adjust_cfa_offset 8
	leaq	176(%rsp), %r10
	pushq	%r10
	.cfi_adjust_cfa_offset 8
	callq	*%r11
	addq	$64, %rsp
	.cfi_adjust_cfa_offset -64
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 272(%rsp)
	vmovups	%ymm0, 208(%rsp)
	vmovups	%ymm0, 144(%rsp)
	vmovups	%ymm0, 296(%rsp)
	vmovups	%ymm0, 232(%rsp)
	vmovups	%ymm0, 168(%rsp)
	testl	%eax, %eax
	je	.LBB1_1
	movabsq	$_ZN08NumbaEnv8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE, %rax
	cmpq	$0, (%rax)
	je	.LBB1_4
	movq	136(%rsp), %rdi
	movabsq	$NRT_adapt_ndarray_from_python, %rax
	leaq	400(%rsp), %rsi
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%zmm0, 400(%rsp)
	movq	$0, 464(%rsp)
	vzeroupper
	callq	*%rax
	cmpq	$8, 424(%rsp)
	setne	%cl
	testl	%eax, %eax
	setne	%bl
	orb	%cl, %bl
	cmpb	$1, %bl
	je	.LBB1_6
	testb	%bl, %bl
	jne	.LBB1_1
.LBB1_8:
	movq	128(%rsp), %rdi
	movq	400(%rsp), %rbp
	movq	432(%rsp), %r14
	movq	448(%rsp), %r13
	movabsq	$PyNumber_Float, %rax
	callq	*%rax
	movq	%rax, %rbx
	movabsq	$PyFloat_AsDouble, %rax
	movq	%rbx, %rdi
	callq	*%rax
	movabsq	$Py_DecRef, %r15
	movq	%rbx, %rdi
	callq	*%r15
	movabsq	$PyErr_Occurred, %r12
	callq	*%r12
	testq	%rax, %rax
	jne	.LBB1_9
	movq	120(%rsp), %rdi
	leaq	336(%rsp), %rsi
	movabsq	$NRT_adapt_ndarray_from_python, %rax
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 336(%rsp)
	vmovups	%ymm0, 360(%rsp)
	vzeroupper
	callq	*%rax
	testl	%eax, %eax
	jne	.LBB1_12
	cmpq	$8, 360(%rsp)
	jne	.LBB1_12
	movq	336(%rsp), %rax
	movq	368(%rsp), %rcx
	movq	112(%rsp), %rdi
	movq	%r14, 56(%rsp)
	movabsq	$PyNumber_Long, %r14
	movq	%r13, 48(%rsp)
	movq	%rax, 32(%rsp)
	movq	%rcx, 40(%rsp)
	callq	*%r14
	movabsq	$PyLong_AsLongLong, %r13
	testq	%rax, %rax
	je	.LBB1_14
	movq	%rax, %rdi
	movq	%rax, %rbx
	callq	*%r13
	movq	%rbx, %rdi
	movq	%rax, (%rsp)
	callq	*%r15
	callq	*%r12
	testq	%rax, %rax
	jne	.LBB1_24
.LBB1_17:
	movq	104(%rsp), %rdi
	leaq	272(%rsp), %rsi
	movabsq	$NRT_adapt_ndarray_from_python, %rax
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 272(%rsp)
	vmovups	%ymm0, 296(%rsp)
	vzeroupper
	callq	*%rax
	testl	%eax, %eax
	jne	.LBB1_19
	cmpq	$8, 296(%rsp)
	jne	.LBB1_19
	movq	96(%rsp), %rdi
	movq	272(%rsp), %rbx
	leaq	208(%rsp), %rsi
	movabsq	$NRT_adapt_ndarray_from_python, %rax
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 208(%rsp)
	vmovups	%ymm0, 232(%rsp)
	vzeroupper
	callq	*%rax
	testl	%eax, %eax
	jne	.LBB1_22
	cmpq	$8, 232(%rsp)
	jne	.LBB1_22
	movq	208(%rsp), %rax
	movq	88(%rsp), %rdi
	movq	%rbx, 16(%rsp)
	movq	%rbp, 24(%rsp)
	movq	%rax, 8(%rsp)
	callq	*%r14
	testq	%rax, %rax
	je	.LBB1_26
	movq	%rax, %rdi
	movq	%rax, %rbx
	callq	*%r13
	movq	%rbx, %rdi
	movq	%rax, %rbp
	callq	*%r15
	callq	*%r12
	testq	%rax, %rax
	jne	.LBB1_37
.LBB1_29:
	movq	80(%rsp), %rdi
	callq	*%r14
	testq	%rax, %rax
	je	.LBB1_30
	movq	%rax, %rdi
	movq	%rax, %r14
	callq	*%r13
	movq	%r14, %rdi
	movq	%rax, %rbx
	callq	*%r15
	callq	*%r12
	testq	%rax, %rax
	jne	.LBB1_37
.LBB1_33:
	movq	72(%rsp), %rdi
	movabsq	$PyObject_IsTrue, %rax
	callq	*%rax
	callq	*%r12
	testq	%rax, %rax
	jne	.LBB1_37
	movq	64(%rsp), %rdi
	leaq	144(%rsp), %rsi
	movabsq	$NRT_adapt_ndarray_from_python, %rax
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 144(%rsp)
	vmovups	%ymm0, 168(%rsp)
	vzeroupper
	callq	*%rax
	testl	%eax, %eax
	jne	.LBB1_36
	cmpq	$8, 168(%rsp)
	jne	.LBB1_36
	movq	176(%rsp), %rax
	movq	144(%rsp), %r14
	subq	$304, %rsp
	.cfi_adjust_cfa_offset 304
	movq	344(%rsp), %rdi
	movq	304(%rsp), %r10
	movq	%rax, 272(%rsp)
	movabsq	$_ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE, %rax
	movq	%rbx, 224(%rsp)
	movq	%rbp, 216(%rsp)
	movq	%rdi, 72(%rsp)
	movq	360(%rsp), %rdi
	movq	%r10, 96(%rsp)
	movq	352(%rsp), %r10
	movq	%rdi, (%rsp)
	leaq	632(%rsp), %rdi
	movq	%r10, 16(%rsp)
	callq	*%rax
	addq	$304, %rsp
	.cfi_adjust_cfa_offset -304
	movq	24(%rsp), %rdi
	movabsq	$NRT_decref, %rbx
	callq	*%rbx
	movq	32(%rsp), %rdi
	callq	*%rbx
	movq	16(%rsp), %rdi
	callq	*%rbx
	movq	8(%rsp), %rdi
	callq	*%rbx
	movq	%r14, %rdi
	callq	*%rbx
	movabsq	$PyLong_FromLongLong, %rax
	xorl	%edi, %edi
	callq	*%rax
.LBB1_2:
	addq	$472, %rsp
	.cfi_def_cfa_offset 56
	popq	%rbx
	.cfi_def_cfa_offset 48
	popq	%r12
	.cfi_def_cfa_offset 40
	popq	%r13
	.cfi_def_cfa_offset 32
	popq	%r14
	.cfi_def_cfa_offset 24
	popq	%r15
	.cfi_def_cfa_offset 16
	popq	%rbp
	.cfi_def_cfa_offset 8
	vzeroupper
	retq
.LBB1_4:
	.cfi_def_cfa_offset 528
	movabsq	$PyExc_RuntimeError, %rdi
	movabsq	$".const.missing Environment: _ZN08NumbaEnv8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE", %rsi
	movabsq	$PyErr_SetString, %rax
	vzeroupper
	callq	*%rax
	jmp	.LBB1_1
.LBB1_6:
	movabsq	$PyExc_TypeError, %rdi
	movabsq	$".const.can't unbox array from PyObject into native value.  The object maybe of a different type", %rsi
	movabsq	$PyErr_SetString, %rax
	callq	*%rax
	testb	%bl, %bl
	je	.LBB1_8
	jmp	.LBB1_1
.LBB1_12:
	movabsq	$PyExc_TypeError, %rdi
	movabsq	$".const.can't unbox array from PyObject into native value.  The object maybe of a different type", %rsi
	movabsq	$PyErr_SetString, %rax
	callq	*%rax
	jmp	.LBB1_9
.LBB1_14:
	movq	$0, (%rsp)
	callq	*%r12
	testq	%rax, %rax
	je	.LBB1_17
	jmp	.LBB1_24
.LBB1_19:
	movabsq	$PyExc_TypeError, %rdi
	movabsq	$".const.can't unbox array from PyObject into native value.  The object maybe of a different type", %rsi
	movabsq	$PyErr_SetString, %rax
	callq	*%rax
	jmp	.LBB1_24
.LBB1_22:
	movabsq	$PyExc_TypeError, %rdi
	movabsq	$".const.can't unbox array from PyObject into native value.  The object maybe of a different type", %rsi
	movabsq	$PyErr_SetString, %rax
	callq	*%rax
	jmp	.LBB1_23
.LBB1_26:
	xorl	%ebp, %ebp
	callq	*%r12
	testq	%rax, %rax
	je	.LBB1_29
	jmp	.LBB1_37
.LBB1_30:
	xorl	%ebx, %ebx
	callq	*%r12
	testq	%rax, %rax
	je	.LBB1_33
	jmp	.LBB1_37
.LBB1_36:
	movabsq	$PyExc_TypeError, %rdi
	movabsq	$".const.can't unbox array from PyObject into native value.  The object maybe of a different type", %rsi
	movabsq	$PyErr_SetString, %rax
	callq	*%rax
.LBB1_37:
	movq	8(%rsp), %rdi
	movabsq	$NRT_decref, %rax
	callq	*%rax
	movq	24(%rsp), %rbp
	movq	16(%rsp), %rbx
.LBB1_23:
	movabsq	$NRT_decref, %rax
	movq	%rbx, %rdi
	callq	*%rax
.LBB1_24:
	movq	32(%rsp), %rdi
	movabsq	$NRT_decref, %rax
	callq	*%rax
.LBB1_9:
	movabsq	$NRT_decref, %rax
	movq	%rbp, %rdi
	callq	*%rax
.LBB1_1:
	xorl	%eax, %eax
	jmp	.LBB1_2
.Lfunc_end1:
	.size	_ZN7cpython8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE, .Lfunc_end1-_ZN7cpython8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE
	.cfi_endproc

	.globl	cfunc._ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE
	.p2align	4
	.type	cfunc._ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE,@function
cfunc._ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE:
	subq	$312, %rsp
	vmovups	520(%rsp), %xmm0
	movq	576(%rsp), %rsi
	movq	320(%rsp), %rax
	movq	376(%rsp), %rcx
	movq	400(%rsp), %rdx
	movq	$0, 304(%rsp)
	leaq	304(%rsp), %rdi
	movq	%rsi, 272(%rsp)
	vmovups	%xmm0, 216(%rsp)
	movq	%rax, 16(%rsp)
	movabsq	$_ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE, %rax
	movq	%rdx, 96(%rsp)
	movq	%rcx, 72(%rsp)
	movq	%r8, (%rsp)
	callq	*%rax
	movq	304(%rsp), %rax
	addq	$312, %rsp
	retq
.Lfunc_end2:
	.size	cfunc._ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE, .Lfunc_end2-cfunc._ZN8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE

	.weak	NRT_decref
	.p2align	4
	.type	NRT_decref,@function
NRT_decref:
	.cfi_startproc
	testq	%rdi, %rdi
	je	.LBB3_2
	#MEMBARRIER
	lock		decq	(%rdi)
	je	.LBB3_3
.LBB3_2:
	retq
.LBB3_3:
	movabsq	$NRT_MemInfo_call_dtor, %rax
	#MEMBARRIER
	jmpq	*%rax
.Lfunc_end3:
	.size	NRT_decref, .Lfunc_end3-NRT_decref
	.cfi_endproc

	.type	".const.make.<locals>.block_ab",@object
	.section	.lrodata,"al",@progbits
	.p2align	4, 0x0
".const.make.<locals>.block_ab":
	.asciz	"make.<locals>.block_ab"
	.size	".const.make.<locals>.block_ab", 23

	.type	_ZN08NumbaEnv8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE,@object
	.comm	_ZN08NumbaEnv8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE,8,8
	.type	".const.missing Environment: _ZN08NumbaEnv8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE",@object
	.p2align	4, 0x0
".const.missing Environment: _ZN08NumbaEnv8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE":
	.asciz	"missing Environment: _ZN08NumbaEnv8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE"
	.size	".const.missing Environment: _ZN08NumbaEnv8closmod64make12_3clocals_3e8block_abB2v7B44c8tJTIeFIjxB2IKSgI4CrvQCk0Z4yRYcWsBAK4JIagIAE5ArrayIdLi2E1C7mutable7alignedEd5ArrayIdLi1E1C7mutable7alignedEx5ArrayIdLi1E1C7mutable7alignedE5ArrayIdLi1E1C7mutable7alignedExx27Literal_5bbool_5d_28True_295ArrayIdLi1E1C7mutable7alignedE", 312

	.type	".const.can't unbox array from PyObject into native value.  The object maybe of a different type",@object
	.p2align	4, 0x0
".const.can't unbox array from PyObject into native value.  The object maybe of a different type":
	.asciz	"can't unbox array from PyObject into native value.  The object maybe of a different type"
	.size	".const.can't unbox array from PyObject into native value.  The object maybe of a different type", 89

	.section	".note.GNU-stack","",@progbits
