"""The touchscreen's screens: one ``.py`` and one ``.kv`` each, listed in ``registry.SCREENS``."""
