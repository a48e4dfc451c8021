using System.Net;
using System.Text.Json;
using Cluster.Contracts.Replies;
using Cluster.Node.Http;
using Cluster.Node.Tests.TestUtils;

namespace Cluster.Node.Tests.Http;

/// <summary>
/// GET /openapi.json: an OpenAPI 3.x document, served without a token, in which every route of the app's endpoint data
/// source appears with its method, with the bearer scheme, the typed request bodies and the listings' paging parameters.
/// </summary>
public sealed class ApiDocumentTests : IAsyncLifetime
{
    private GatedApi _gated = null!;
    private JsonElement _document;

    public async Task InitializeAsync()
    {
        _gated = await GatedApi.StartAsync(_ => new VmList([]));
        using var anonymous = _gated.Client(null);
        using var response = await anonymous.GetAsync(ApiDocument.Path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        _document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async Task DisposeAsync() => await _gated.DisposeAsync();

    [Fact]
    public void Is_an_openapi_3_document_that_describes_every_mapped_route()
    {
        Assert.StartsWith("3.", _document.GetProperty("openapi").GetString());
        var paths = _document.GetProperty("paths");
        var routes = _gated.Api.Routes;
        Assert.Contains(("GET", "/api/v1/vms"), routes);
        Assert.Contains(("GET", "/api/vms"), routes);
        // OpenAPI has no CONNECT operation (the console's WebSocket over HTTP/2 uses it beside its documented GET), and it
        // writes a catch-all parameter {**path} as {path}.
        var missing = routes.Where(r => r.Method != "CONNECT")
            .Select(r => (r.Method, Pattern: r.Pattern.Replace("{**", "{", StringComparison.Ordinal)))
            .Where(r => !(paths.TryGetProperty(r.Pattern, out var item) && item.TryGetProperty(r.Method.ToLowerInvariant(), out _))).ToList();
        Assert.True(missing.Count == 0, $"not in the document: {string.Join(", ", missing)}");
        Assert.True(paths.TryGetProperty("/metrics", out _));
    }

    [Fact]
    public void Declares_the_bearer_scheme_and_marks_the_public_routes_and_the_old_paths()
    {
        var scheme = _document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal(("http", "bearer"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("scheme").GetString()));
        Assert.True(_document.GetProperty("security")[0].TryGetProperty("bearer", out _));
        var paths = _document.GetProperty("paths");
        Assert.Equal(0, paths.GetProperty("/healthz").GetProperty("get").GetProperty("security").GetArrayLength());
        Assert.True(paths.GetProperty("/api/vms").GetProperty("get").GetProperty("deprecated").GetBoolean());
        Assert.False(paths.GetProperty("/api/v1/vms").GetProperty("get").TryGetProperty("deprecated", out _));
    }

    [Fact]
    public void Describes_request_bodies_with_their_required_fields_and_the_paging_parameters()
    {
        var post = _document.GetProperty("paths").GetProperty("/api/v1/vms").GetProperty("post");
        var schema = Resolve(post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        Assert.Equal(["id", "image"], schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order());
        Assert.True(schema.GetProperty("properties").TryGetProperty("disks", out _));
        Assert.False(schema.GetProperty("additionalProperties").GetBoolean());
        var vcpus = schema.GetProperty("properties").GetProperty("vcpus").GetProperty("type").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Contains("integer", vcpus);
        Assert.DoesNotContain("string", vcpus);
        var parameters = _document.GetProperty("paths").GetProperty("/api/v1/audit").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().Select(p => (p.GetProperty("name").GetString(), p.GetProperty("in").GetString()));
        Assert.Equal([("limit", "query"), ("before", "query")], parameters);
    }

    private JsonElement Resolve(JsonElement schema) =>
        schema.TryGetProperty("$ref", out var reference)
            ? _document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1])
            : schema;
}
