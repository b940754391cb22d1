"""The Kivy touchscreen front end of the lane."""
