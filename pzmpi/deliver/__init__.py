"""Stage IV, post-processing: the federated photo-z table and the delivery package."""
