"""Shared test code: test files import their builders from here, never from each other.

- project.py: a throwaway git+DVC copy of the project (`copy_project`, `Project`,
  `ran_stages`; `project_files` says what a copy holds).
- pipeline.py: the planted pipeline the secrets and faults tests share (fixture `planted`).
- params.py: Params from the shipped params.yaml with overrides (`make_params`).
- tinymodel.py, stages.py, big_archive.py, s3server.py: models, stage outputs, archives
  and a local S3 server to test against.
"""
