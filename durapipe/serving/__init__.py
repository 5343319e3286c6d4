"""What a function app serves: pipelines from its definitions, the HTTP API's logic, the OpenAPI document, the web pages."""
