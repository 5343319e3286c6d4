"""Remote compute: a job described by references (`base`), its targets (`ray`, `azureml`, chosen in `targets`) and the job's entry."""
