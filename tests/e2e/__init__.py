"""End-to-end tests: real `durapipe` runs of throwaway projects, over every store."""
