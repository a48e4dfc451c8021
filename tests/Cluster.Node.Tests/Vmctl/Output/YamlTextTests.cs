using System.Text.Json.Nodes;
using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl.Output;

public class YamlTextTests
{
    /// <summary>Strings that YAML would read as something else, or not at all, when written plain.</summary>
    private static readonly string[] Awkward =
    [
        "", " lead", "trail ", "true", "False", "null", "~", "yes", "no", "1", "1.5", "-2", "1e5", "0x10", "a: b", "- x", "#x", "x #y",
        "{a}", "[1]", "'q'", "\"dq\"", "multi\nline", "tab\there", "back\\slash", "über", "*star", "&anchor", "!tag", "%pct", "@at", "`tick`",
        "http://h:1/p", "key=value", "52:54:00:00:00:01", "10.0.0.0/24", "-", "?", ":",
    ];

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(0, 25)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Reads_back_what_it_writes(int seed)
    {
        var random = new Random(seed);
        var tree = Generate(random, 0);
        var yaml = YamlText.Write(tree);
        Assert.True(JsonNode.DeepEquals(tree, YamlReader.Read(yaml)), $"{tree?.ToJsonString()}\n---\n{yaml}");
    }

    [Fact]
    public void Writes_plain_what_reads_back_plain()
    {
        Assert.Equal("id: web-1\nmemory: 64M\nvcpus: 2\n", YamlText.Write(new JsonObject { ["id"] = "web-1", ["memory"] = "64M", ["vcpus"] = 2 }));
        Assert.Equal("\"true\"", YamlText.Quoted("true"));
        Assert.Equal("\"1.5\"", YamlText.Quoted("1.5"));
    }

    private static JsonNode? Generate(Random random, int depth)
    {
        switch (depth < 3 ? random.Next(6) : random.Next(3))
        {
            case 0:
                return random.Next(4) == 0 ? null : JsonValue.Create(Awkward[random.Next(Awkward.Length)]);
            case 1:
                return random.Next(3) switch
                {
                    0 => JsonValue.Create(random.Next(-1000, 1000)),
                    1 => JsonValue.Create(random.Next(2) == 0),
                    _ => JsonValue.Create(Math.Round(random.NextDouble() * 100, 3)),
                };
            case 2:
                return JsonValue.Create($"w{random.Next(100)}");
            case 3 or 4:
                var o = new JsonObject();
                for (var i = random.Next(4); i > 0; i--)
                    o[random.Next(3) == 0 ? Awkward[random.Next(Awkward.Length)] + i : $"k{i}"] = Generate(random, depth + 1);
                return o;
            default:
                var a = new JsonArray();
                for (var i = random.Next(4); i > 0; i--)
                    a.Add(Generate(random, depth + 1));
                return a;
        }
    }
}
