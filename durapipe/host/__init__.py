"""The embedded local host: the Functions host's part, driving the app through the real SDK.

Importing it changes nothing: a host installs what it needs of the SDK when it starts
(`sdk_compat.install`), and the entry points defer the SDK's imports before anything imports it.
"""
