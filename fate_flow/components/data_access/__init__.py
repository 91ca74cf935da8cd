"""Upload and Download: the local jobs that move data between files and tables."""
