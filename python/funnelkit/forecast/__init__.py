"""Revenue forecasting, unit economics and what-if analysis (issue 10)."""
