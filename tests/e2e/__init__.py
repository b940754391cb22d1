"""End-to-end tests: real `kiosk sim`, `kiosk sync`, `kiosk-central` processes and Mosquitto."""
