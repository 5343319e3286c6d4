"""Stores and what is kept in them: the Store protocol (local folder, Blob storage), artifacts, hashing, keys, records."""
