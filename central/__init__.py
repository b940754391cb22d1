"""Central consumers (inventory, finance) that apply kiosk events exactly once."""
