"""CSV intake core: decode, parse, map headers, normalise and validate rows. No AWS.

Every entry point (S3 ingest, the REST API, `saiken validate`) goes through this package.
"""
