using System.Text.Json;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;

namespace Cluster.Node.Http;

/// <summary>
/// Reads a VM spec from the HTTP API's JSON: {"id", "name"?, "vcpus"?, "memory"? (bytes or "64M"), "image"
/// (a built-in name), "args"?, "labels"?, "antiAffinity"?, "priority"?, "restart"? (never|on-failure|always),
/// "maxRestarts"?, "disks"? ([{"path", "format"? (raw|qcow2, absent to probe), "readonly"?, "cache"? (none|writeback),
/// "serial"?}]), "start"?}. Unknown fields and wrong types are refused with a message naming the field;
/// the values themselves are checked by the spec validator behind the control entry point.
/// </summary>
public static class SpecJson
{
    private static readonly HashSet<string> Known =
        ["id", "name", "vcpus", "memory", "image", "args", "labels", "antiAffinity", "priority", "restart", "maxRestarts", "disks", "start"];

    private static readonly HashSet<string> KnownDiskFields = ["path", "format", "readonly", "readOnly", "cache", "serial"];

    /// <summary>Parses a spec; null with <paramref name="error"/> set when the JSON is not a spec.</summary>
    public static VmSpec? Parse(JsonElement json, out bool start, out string? error)
    {
        start = false;
        error = null;
        try
        {
            if (json.ValueKind != JsonValueKind.Object)
                throw new FormatException("the body must be a JSON object");
            if (json.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => !Known.Contains(n)) is { } unknown)
                throw new FormatException($"unknown field '{unknown}'");
            var id = Str(json, "id") ?? throw new FormatException("'id' is required");
            var image = Str(json, "image") ?? throw new FormatException("'image' (a built-in guest name) is required");
            var memory = 16UL << 20;
            if (json.TryGetProperty("memory", out var m))
                memory = m.ValueKind == JsonValueKind.Number ? m.GetUInt64()
                    : m.ValueKind == JsonValueKind.String && SizeText.TryParse(m.GetString()!, out var parsed) ? parsed
                    : throw new FormatException("'memory' must be bytes or a size like \"64M\"");
            RestartMode mode = (Str(json, "restart") ?? "never") switch
            {
                "never" => RestartMode.Never, "on-failure" => RestartMode.OnFailure, "always" => RestartMode.Always,
                var other => throw new FormatException($"'restart' must be never, on-failure or always, not '{other}'"),
            };
            start = json.TryGetProperty("start", out var s) && s.GetBoolean();
            return new VmSpec(id, Str(json, "name") ?? id, Int(json, "vcpus") ?? 1, memory, new BuiltInImage(image),
                json.TryGetProperty("args", out var a) ? [.. a.EnumerateArray().Select(x => x.GetString()!)] : [],
                json.TryGetProperty("labels", out var l) ? l.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!) : [],
                Str(json, "antiAffinity"), new RestartPolicy(mode, Int(json, "maxRestarts") ?? (mode == RestartMode.Never ? 0 : 3)),
                Int(json, "priority") ?? 0) { Disks = json.TryGetProperty("disks", out var d) ? Disks(d) : [] };
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>The disks of a spec; format and cache values go through the disk syntax's own value parsers.</summary>
    private static List<DiskSpec> Disks(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Array)
            throw new FormatException("'disks' must be an array of {path, format?, readonly?, cache?, serial?}");
        var disks = new List<DiskSpec>();
        foreach (var disk in json.EnumerateArray())
        {
            if (disk.ValueKind != JsonValueKind.Object)
                throw new FormatException("each of 'disks' must be an object {path, format?, readonly?, cache?, serial?}");
            var unknown = disk.EnumerateObject().Select(p => p.Name).Where(n => !KnownDiskFields.Contains(n)).ToList();
            if (unknown.Count > 0)
                throw new FormatException($"unknown disk field{(unknown.Count == 1 ? "" : "s")} {string.Join(", ", unknown.Select(u => $"'{u}'"))}"
                                          + $" (known: path, format, readonly, cache, serial)");
            var path = Str(disk, "path") ?? throw new FormatException("a disk needs 'path'");
            if (!DiskSpecText.TryParseFormat(Str(disk, "format")?.ToLowerInvariant(), out var format, out var error)
                || !DiskSpecText.TryParseCache(Str(disk, "cache")?.ToLowerInvariant(), out var cache, out error))
                throw new FormatException($"disk '{path}': {error}");
            // "readOnly" too: GET /api/vms/{id} writes the field so, and what it shows reads back.
            var readOnly = (disk.TryGetProperty("readonly", out var ro) || disk.TryGetProperty("readOnly", out ro))
                && (ro.ValueKind is JsonValueKind.True or JsonValueKind.False ? ro.GetBoolean() : throw new FormatException("'readonly' must be true or false"));
            disks.Add(new DiskSpec(path, format, readOnly, cache, Str(disk, "serial")));
        }
        return disks;
    }

    private static string? Str(JsonElement json, string name) =>
        json.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw new FormatException($"'{name}' must be a string") : null;

    private static int? Int(JsonElement json, string name) =>
        json.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw new FormatException($"'{name}' must be an integer") : null;
}
