using System.Text.Json;
using Cluster.Contracts.Access;
using Cluster.Node.Http;

namespace Cluster.Node.Tests.Http;

/// <summary>The body of POST /api/tokens: a valid one parses (the check for unknown fields once read a property of a
/// default JsonProperty when every field was known), unknown and non-text fields are refused by name.</summary>
public class AccessJsonTests
{
    private static readonly DateTime Now = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);

    private static CreateToken? Parse(string json, out string? error) => AccessJson.ParseCreate(JsonDocument.Parse(json).RootElement, Now, out error);

    [Fact]
    public void A_body_with_known_text_fields_parses()
    {
        var create = Parse("""{"role":"viewer","name":"grafana","expires":"12h"}""", out var error);
        Assert.Null(error);
        Assert.Equal(Role.Viewer, create!.Role);
        Assert.Equal("grafana", create.Name);
        Assert.Equal(Now.AddHours(12), create.ExpiresAt);
    }

    [Theory]
    [InlineData("""{"role":"viewer","colour":"red"}""", "unknown field 'colour'")]
    [InlineData("""{"role":"viewer","name":3}""", "'name' must be a string")]
    public void Unknown_and_non_text_fields_are_refused_by_name(string json, string message)
    {
        Assert.Null(Parse(json, out var error));
        Assert.StartsWith(message, error);
    }
}
