"""Revenue forecasts, unit economics and what-if analysis (roadmap step 5; work in progress)."""
