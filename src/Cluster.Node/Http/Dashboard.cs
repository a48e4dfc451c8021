using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cluster.Node.Http;

/// <summary>
/// The dashboard's files, served from this assembly (the build embeds <c>Http/wwwroot/</c>; no network, no CDN):
/// GET / is <c>index.html</c>, GET /ui/PATH any other file there (its scripts under js/, xterm.js under vendor/xterm/).
/// The files hold no data, so they need no token; the page's scripts fetch the API with the token they are given (see
/// wwwroot/README.md). Every file goes with a Content-Security-Policy that lets the page load and connect to this
/// origin alone, and may not be framed.
/// </summary>
public static class Dashboard
{
    /// <summary>The URL prefix of the page's files.</summary>
    public const string Prefix = "/ui";

    private const string ResourcePrefix = "wwwroot/";

    private const string Policy =
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

    private static readonly Assembly Files = typeof(Dashboard).Assembly;

    private static readonly Dictionary<string, string> Types = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [""] = "text/plain; charset=utf-8",
    };

    /// <summary>Maps GET / and GET /ui/{path}.</summary>
    public static void Map(WebApplication app)
    {
        app.MapGet("/", (HttpContext c) => Serve(c, "index.html"));
        app.MapGet(Prefix + "/{**path}", (HttpContext c, string path) => Serve(c, path));
    }

    private static IResult Serve(HttpContext context, string path)
    {
        var stream = Files.GetManifestResourceStream(ResourcePrefix + path);
        if (stream is null || !Types.TryGetValue(Path.GetExtension(path), out var type))
        {
            stream?.Dispose();
            return Results.NotFound(new { error = "not-found", message = $"the dashboard has no file '{path}'" });
        }
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = Policy;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-cache";
        return Results.Stream(stream, type);
    }
}
