using Cluster.Node.Http.Requests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Cluster.Node.Http;

/// <summary>
/// The API's OpenAPI 3.1 document, served at <see cref="Path"/> without a token: generated from the route table and its
/// metadata (<see cref="RouteDocs"/>), so every mapped route is in it, with the bearer security scheme every
/// <c>/api</c> route and <c>/metrics</c> need, the paging parameters of the listings (<see cref="PagedListing"/>), the
/// unversioned <c>/api/...</c> aliases marked deprecated, and the routes served outside the route table
/// (<c>/metrics</c>, this document itself) added by hand.
/// </summary>
public static class ApiDocument
{
    /// <summary>Where the document is served.</summary>
    public const string Path = "/openapi.json";

    private const string Scheme = "bearer";

    public static void AddServices(IServiceCollection services) => services.AddOpenApi(o =>
    {
        o.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "cluster-node HTTP API",
                Version = "v1",
                Description = $"The cluster's control API. Every route under {HttpApi.ApiPrefix} is also served under {HttpApi.AliasPrefix} (deprecated).",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A token from vmctl token create (or the node's DATA/admin.token); the console's WebSocket may send it as the subprotocol bearer.TOKEN.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, document)] = [] }];
            document.Paths.Add(MetricsEndpoint.MetricsPath, Get("Prometheus metrics of the hosts, VMs and migrations.", "text/plain", secured: true));
            document.Paths.Add(Path, Get("This document.", "application/json", secured: false));
            return Task.CompletedTask;
        });
        o.AddSchemaTransformer(DescribeSizes);
        o.AddOperationTransformer((operation, context, _) =>
        {
            var path = "/" + context.Description.RelativePath;
            if (!path.StartsWith(HttpApi.AliasPrefix + "/", StringComparison.Ordinal))
                operation.Security = [];
            else if (!path.StartsWith(HttpApi.ApiPrefix + "/", StringComparison.Ordinal))
                operation.Deprecated = true;
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<PagedListing>().FirstOrDefault() is { } listing)
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(Query("limit", JsonSchemaType.Integer,
                    $"At most this many items, 1 to {listing.MaxLimit} ({listing.DefaultLimit} when absent)."));
                operation.Parameters.Add(Query(listing.CursorName, JsonSchemaType.String,
                    "The previous page's 'continue' value (its 'next' is this request)."));
            }
            return Task.CompletedTask;
        });
    });

    /// <summary>A size field (<see cref="JsonSize"/>, read by its own converter): a number of bytes or a size text.</summary>
    private static Task DescribeSizes(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellation)
    {
        if ((Nullable.GetUnderlyingType(context.JsonTypeInfo.Type) ?? context.JsonTypeInfo.Type) == typeof(JsonSize))
        {
            schema.Type = JsonSchemaType.Integer | JsonSchemaType.String;
            schema.Description ??= $"A size in {JsonSizeConverter.Expected}.";
        }
        return Task.CompletedTask;
    }

    public static void Map(WebApplication app) => app.MapOpenApi(Path);

    private static OpenApiParameter Query(string name, JsonSchemaType type, string description) => new()
    {
        Name = name,
        In = ParameterLocation.Query,
        Description = description,
        Schema = new OpenApiSchema { Type = type },
    };

    private static OpenApiPathItem Get(string summary, string contentType, bool secured) => new()
    {
        Operations = new Dictionary<HttpMethod, OpenApiOperation>
        {
            [HttpMethod.Get] = new()
            {
                Summary = summary,
                Security = secured ? null : [],
                Responses = new OpenApiResponses
                {
                    [StatusCodes.Status200OK.ToString(System.Globalization.CultureInfo.InvariantCulture)] =
                        new OpenApiResponse { Description = "OK", Content = new Dictionary<string, OpenApiMediaType> { [contentType] = new() } },
                },
            },
        },
    };
}
