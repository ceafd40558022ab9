"""The GraphQL API at /graphql (docs/graphql.md): the REST service layer, scopes, tenant
isolation, transactions and error codes behind another door."""

from enroll.graphql.router import create_graphql_router

__all__ = ["create_graphql_router"]
