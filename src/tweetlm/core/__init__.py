"""What every stage shares: the CLI, params, the layout of files, errors and atomic outputs.

dvc.yaml lists this folder as one dep of every stage: an edit here reruns everything.
"""
