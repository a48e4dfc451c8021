using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Cli.Apply;

/// <summary>
/// The declarative VM spec that <c>vmctl apply -f</c> reads and <c>vmctl get vm ID -o yaml|json</c> prints, so that
/// one round-trips through the other. YAML or JSON, one VM, unknown fields refused:
/// <code>
/// id: web-1
/// name: web-1
/// vcpus: 1
/// memory: 64M            # bytes, or a size: 64M, 1GiB
/// image:
///   builtin: counter     # or elf: PATH, or kernel: PATH with initrd: PATH and cmdline: TEXT
/// args: [a, b]
/// labels: {zone: a}
/// antiAffinityGroup: web
/// restart: {mode: on-failure, maxRestarts: 3}
/// priority: 0
/// disks: ["path=/srv/web.qcow2,format=qcow2"]   # the --disk syntax
/// nics: [{network: lan, mac: "52:54:00:00:00:01"}]
/// </code>
/// Only <c>id</c> and <c>image</c> are required; the rest default as <c>vmctl create</c> does. Relative paths are made
/// absolute (from the current directory, as with create).
/// </summary>
public static class SpecFile
{
    private static readonly HashSet<string> Fields =
        ["id", "name", "vcpus", "memory", "image", "args", "labels", "antiAffinityGroup", "restart", "priority", "disks", "nics"];

    /// <summary>The document of <paramref name="spec"/> (what <c>get vm</c> prints).</summary>
    public static JsonObject ToDocument(VmSpec spec) => new()
    {
        ["id"] = spec.Id,
        ["name"] = spec.Name,
        ["vcpus"] = spec.Vcpus,
        ["memory"] = Printer.Size(spec.MemoryBytes),
        ["image"] = spec.Image switch
        {
            BuiltInImage b => new JsonObject { ["builtin"] = b.Name },
            ElfImage e => new JsonObject { ["elf"] = e.Path },
            LinuxImage l => new JsonObject { ["kernel"] = l.KernelPath, ["initrd"] = l.InitrdPath, ["cmdline"] = l.CommandLine },
            var other => new JsonObject { ["unknown"] = other.Describe() },
        },
        ["args"] = new JsonArray([.. spec.Args.Select(a => (JsonNode?)a)]),
        ["labels"] = new JsonObject(spec.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
        ["antiAffinityGroup"] = spec.AntiAffinityGroup,
        ["restart"] = new JsonObject { ["mode"] = RestartName(spec.Restart.Mode), ["maxRestarts"] = spec.Restart.MaxRestarts },
        ["priority"] = spec.Priority,
        ["disks"] = new JsonArray([.. spec.Disks.Select(d => (JsonNode?)DiskSpecText.Format(d))]),
        ["nics"] = new JsonArray([.. spec.Nics.Select(n => (JsonNode?)new JsonObject { ["network"] = n.Network, ["mac"] = n.Mac, ["ip"] = n.Ip })]),
    };

    /// <summary>The spec a file's text (YAML or JSON) describes, or null with <paramref name="error"/> naming the field.</summary>
    public static VmSpec? Read(string text, out string? error)
    {
        JsonNode? node;
        try
        {
            node = text.TrimStart().StartsWith('{') ? JsonNode.Parse(text) : YamlReader.Read(text);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            error = $"not YAML or JSON: {e.Message}";
            return null;
        }
        try
        {
            error = null;
            return FromDocument(node as JsonObject ?? throw new FormatException("the file must hold one VM: a mapping with id, image, ..."));
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    private static VmSpec FromDocument(JsonObject o)
    {
        if (o.Select(p => p.Key).FirstOrDefault(k => !Fields.Contains(k)) is { } unknown)
            throw new FormatException($"unknown field '{unknown}' (fields: {string.Join(", ", Fields)})");
        var id = Text(o, "id") ?? throw new FormatException("'id' is required");
        var restart = o["restart"] as JsonObject;
        if (o["restart"] is not null and not JsonObject)
            throw new FormatException("'restart' must be a mapping: {mode: never|on-failure|always, maxRestarts: N}");
        if (restart?.Select(p => p.Key).FirstOrDefault(k => k is not ("mode" or "maxRestarts")) is { } badRestart)
            throw new FormatException($"unknown field 'restart.{badRestart}' (mode, maxRestarts)");
        var modeText = restart is null ? "never" : Text(restart, "mode", "restart.mode") ?? "never";
        RestartMode mode = modeText switch
        {
            "never" => RestartMode.Never, "on-failure" => RestartMode.OnFailure, "always" => RestartMode.Always,
            _ => throw new FormatException($"'restart.mode' is '{modeText}' (never, on-failure or always)"),
        };
        var maxRestarts = restart is null ? null : Integer(restart, "maxRestarts", "restart.maxRestarts");
        return new VmSpec(id, Text(o, "name") ?? id, Integer(o, "vcpus") ?? 1, Memory(o), Image(o), Strings(o, "args"), Labels(o),
            Text(o, "antiAffinityGroup"), new RestartPolicy(mode, maxRestarts ?? (mode == RestartMode.Never ? 0 : 3)), Integer(o, "priority") ?? 0)
        {
            Disks = [.. Strings(o, "disks").Select(d => DiskSpecText.Parse(d, out var e) ?? throw new FormatException($"'disks': {e}"))],
            Nics = Nics(o),
        };
    }

    private static ulong Memory(JsonObject o) => o["memory"] switch
    {
        null => 64UL << 20,
        JsonValue v when v.TryGetValue<ulong>(out var bytes) => bytes,
        JsonValue v when v.TryGetValue<string>(out var text) => SizeText.TryParse(text, out var bytes, out var why) ? bytes
            : throw new FormatException($"'memory' is '{text}': {why}"),
        _ => throw new FormatException("'memory' must be bytes or a size such as 64M"),
    };

    private static GuestImageSpec Image(JsonObject o)
    {
        if (o["image"] is not JsonObject image)
            throw new FormatException("'image' is required: a mapping with builtin: NAME, elf: PATH or kernel: PATH (initrd, cmdline)");
        if (image.Select(p => p.Key).FirstOrDefault(k => k is not ("builtin" or "elf" or "kernel" or "initrd" or "cmdline")) is { } bad)
            throw new FormatException($"unknown field 'image.{bad}' (builtin, elf, kernel, initrd, cmdline)");
        return (Text(image, "builtin", "image.builtin"), Text(image, "elf", "image.elf"), Text(image, "kernel", "image.kernel")) switch
        {
            ({ } name, null, null) when !image.ContainsKey("initrd") && !image.ContainsKey("cmdline") => new BuiltInImage(name),
            (null, { } elf, null) when !image.ContainsKey("initrd") && !image.ContainsKey("cmdline") => new ElfImage(Path.GetFullPath(elf)),
            (null, null, { } kernel) => new LinuxImage(Path.GetFullPath(kernel),
                Text(image, "initrd", "image.initrd") is { } initrd ? Path.GetFullPath(initrd) : null, Text(image, "cmdline", "image.cmdline") ?? "console=ttyS0"),
            _ => throw new FormatException("'image' takes exactly one of builtin, elf or kernel (initrd and cmdline go with kernel)"),
        };
    }

    private static IReadOnlyList<NicSpec> Nics(JsonObject o)
    {
        var nics = new List<NicSpec>();
        foreach (var item in Array(o, "nics"))
        {
            if (item is not JsonObject nic)
                throw new FormatException("each of 'nics' must be a mapping: {network: NAME, mac: MAC}");
            if (nic.Select(p => p.Key).FirstOrDefault(k => k is not ("network" or "mac" or "ip")) is { } bad)
                throw new FormatException($"unknown field 'nics.{bad}' (network, mac, ip)");
            nics.Add(new NicSpec(Text(nic, "network", "nics.network") ?? throw new FormatException("each NIC needs 'network'"),
                Text(nic, "mac", "nics.mac"), Text(nic, "ip", "nics.ip")));
        }
        return nics;
    }

    private static Dictionary<string, string> Labels(JsonObject o)
    {
        if (o["labels"] is null)
            return new Dictionary<string, string>(StringComparer.Ordinal);
        if (o["labels"] is not JsonObject labels)
            throw new FormatException("'labels' must be a mapping of KEY: VALUE");
        return labels.ToDictionary(l => l.Key, l => Scalar(l.Value, $"labels.{l.Key}") ?? "", StringComparer.Ordinal);
    }

    private static IReadOnlyList<string> Strings(JsonObject o, string field) =>
        [.. Array(o, field).Select((item, i) => Scalar(item, $"{field}[{i}]") ?? throw new FormatException($"'{field}[{i}]' is empty"))];

    private static JsonArray Array(JsonObject o, string field) => o[field] switch
    {
        null => [],
        JsonArray a => a,
        _ => throw new FormatException($"'{field}' must be a list"),
    };

    private static string? Text(JsonObject o, string field, string? name = null) => Scalar(o[field], name ?? field);

    /// <summary>A scalar as text (numbers and booleans too: a label value 1 is "1"), null when absent.</summary>
    private static string? Scalar(JsonNode? node, string name) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v => v.ToJsonString(),
        _ => throw new FormatException($"'{name}' must be a single value"),
    };

    private static int? Integer(JsonObject o, string field, string? name = null) => o[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var n) && n is >= int.MinValue and <= int.MaxValue => (int)n,
        JsonValue v when v.TryGetValue<int>(out var n) => n,
        JsonValue v when v.TryGetValue<string>(out var s) && int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
        _ => throw new FormatException($"'{name ?? field}' must be a whole number"),
    };

    private static string RestartName(RestartMode mode) => mode switch
    {
        RestartMode.OnFailure => "on-failure",
        RestartMode.Always => "always",
        _ => "never",
    };
}
