"""Labelled data: CSV files, image loading and preprocessing, and augmentation."""
