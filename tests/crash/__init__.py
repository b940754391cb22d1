"""Crash tests: SIGKILL the headless lane (``kiosk sim --json``) at random moments and check
that everything it acknowledged survived (harness.py; run by test_crash_sigkill.py and by the
``python -m tests.crash.soak`` soak runner)."""
