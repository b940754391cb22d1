"""Test infrastructure: private Mosquitto and PostgreSQL servers on free loopback ports."""
