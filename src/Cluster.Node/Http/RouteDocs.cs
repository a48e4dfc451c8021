using Cluster.Node.Http.Replies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cluster.Node.Http;

/// <summary>
/// The route table's OpenAPI metadata in one line per route: what a route takes (<see cref="Takes{T}"/>), answers
/// (<see cref="Answers{T}"/>) or lists page by page (<see cref="Lists{T}"/>); every JSON route may also answer an
/// <see cref="ApiError"/> (400, 401, 403, 404, 409, 504). <see cref="ApiDocument"/> reads it.
/// </summary>
public static class RouteDocs
{
    /// <summary>A route with a JSON body of type <typeparamref name="T"/>.</summary>
    public static RouteHandlerBuilder Takes<T>(this RouteHandlerBuilder route, string summary) where T : notnull =>
        route.WithSummary(summary).Accepts<T>("application/json");

    /// <summary>A route that answers <typeparamref name="T"/> with <paramref name="status"/> (and <see cref="ApiError"/> when it fails).</summary>
    public static RouteHandlerBuilder Answers<T>(this RouteHandlerBuilder route, string? summary, int status = StatusCodes.Status200OK)
    {
        if (summary is not null)
            route.WithSummary(summary);
        route.Produces<T>(status);
        foreach (var error in (int[])[400, 401, 403, 404, 409, 504])
            route.Produces<ApiError>(error);
        return route;
    }

    /// <summary>A paginated listing: answers <typeparamref name="T"/>, one page, and takes <paramref name="listing"/>'s parameters.</summary>
    public static RouteHandlerBuilder Lists<T>(this RouteHandlerBuilder route, string summary, PagedListing? listing = null) =>
        route.Answers<T>(summary).WithMetadata(listing ?? PagedListing.Forward);

    /// <summary>A route that answers a page of HTML.</summary>
    public static RouteHandlerBuilder Page(this RouteHandlerBuilder route, string summary) =>
        route.WithSummary(summary).Produces(StatusCodes.Status200OK, contentType: "text/html");
}
