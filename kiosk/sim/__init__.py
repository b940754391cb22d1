"""``kiosk sim``: the headless front end of the lane (text or JSON lines on stdin/stdout)."""
