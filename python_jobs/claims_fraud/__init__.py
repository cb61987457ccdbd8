"""Claims fraud detection: synthetic data, training, scoring, monitoring jobs."""
