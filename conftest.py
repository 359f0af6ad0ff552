"""Loaded by pytest for every test and notebook it runs from this repository (tests/conftest.py
holds the fixtures).

``COURSE_PROGRESS_FILE=:memory:``: checks and quizzes record the learner's progress in the kernel's
memory only (``lessons.progress``), never in the user's progress file or on the shared Redis. The
notebook kernels nbval starts inherit it, so the table in each notebook's last cell shows what that
run did: the same text in any order, subset or number of parallel runs, on either backend.
"""

import os

os.environ["COURSE_PROGRESS_FILE"] = ":memory:"
