"""Labelled data: CSV files, image loading and preprocessing, datasets and augmentation."""
