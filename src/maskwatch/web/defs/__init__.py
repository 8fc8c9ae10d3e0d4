"""The API's types: path and query parameters, request bodies and responses (pydantic), shared by the routes and
the OpenAPI document."""
