"""Sensors and schedules: what starts runs without a person pressing a button."""
