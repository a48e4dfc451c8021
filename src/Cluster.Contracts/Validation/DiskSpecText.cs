using System.Text;
using Cluster.Contracts.Vms;

namespace Cluster.Contracts.Validation;

/// <summary>
/// The one parser of the disk syntax that <c>vmctl create --disk</c> and <c>cluster-node vmm run --disk</c> take:
/// <c>path=IMG[,format=raw|qcow2][,readonly][,cache=none|writeback][,serial=S]</c>, or a bare <c>IMG</c> first
/// (<c>/srv/a.qcow2,readonly</c>). A comma inside a value is written twice (<c>,,</c>), as QEMU does. It checks the
/// syntax (unknown and repeated keys, format and cache values) and names what it refuses; what the values mean
/// (absolute path, serial length, how many disks) is <see cref="VmSpecValidator"/>'s to check.
/// </summary>
public static class DiskSpecText
{
    /// <summary>The keys the syntax knows.</summary>
    public static IReadOnlyList<string> Keys { get; } = ["path", "format", "readonly", "cache", "serial"];

    /// <summary>The disk that <paramref name="text"/> describes, or null with <paramref name="error"/> saying why not.</summary>
    public static DiskSpec? Parse(string text, out string? error)
    {
        error = null;
        var items = Split(text);
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        var unknown = new List<string>();
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            var (key, value) = eq < 0 ? (item, (string?)null) : (item[..eq], item[(eq + 1)..]);
            if (eq < 0 && i == 0 && item != "readonly")
                (key, value) = ("path", item);
            if (!Keys.Contains(key))
            {
                unknown.Add(key);
                continue;
            }
            if (!values.TryAdd(key, value))
            {
                error = $"disk '{text}': '{key}' is given twice";
                return null;
            }
        }
        if (unknown.Count > 0)
        {
            error = $"disk '{text}': unknown option{(unknown.Count == 1 ? "" : "s")} {string.Join(", ", unknown.Select(u => $"'{u}'"))}"
                    + $" (known: {string.Join(", ", Keys)})";
            return null;
        }
        if (values.GetValueOrDefault("path") is not { Length: > 0 } path)
        {
            error = $"disk '{text}': no path given (path=IMG)";
            return null;
        }
        DiskImageFormat? format = null;
        if (values.TryGetValue("format", out var f) && !TryParseFormat(f, out format, out error))
            return null;
        var cache = DiskCache.Writeback;
        if (values.TryGetValue("cache", out var c) && !TryParseCache(c, out cache, out error))
            return null;
        var readOnly = false;
        if (values.TryGetValue("readonly", out var ro))
        {
            bool? flag = ro switch { null or "on" or "true" => true, "off" or "false" => false, _ => null };
            if (flag is null)
            {
                error = $"disk '{text}': readonly takes no value, or on|off, not '{ro}'";
                return null;
            }
            readOnly = flag.Value;
        }
        if (values.TryGetValue("serial", out var serial) && serial is null)
        {
            error = $"disk '{text}': serial needs a value (serial=S)";
            return null;
        }
        return new DiskSpec(path, format, readOnly, cache, serial);
    }

    /// <summary>Reads a format name: raw or qcow2; null or "auto" means probe the file.</summary>
    public static bool TryParseFormat(string? text, out DiskImageFormat? format, out string? error)
    {
        error = null;
        format = text switch { "raw" => DiskImageFormat.Raw, "qcow2" => DiskImageFormat.Qcow2, _ => null };
        if (format is not null || text is null or "auto")
            return true;
        error = $"unknown disk format '{text}' (raw or qcow2; leave it out to probe the image)";
        return false;
    }

    /// <summary>Reads a cache mode: none or writeback (the default when null).</summary>
    public static bool TryParseCache(string? text, out DiskCache cache, out string? error)
    {
        error = null;
        DiskCache? mode = text switch { null or "writeback" => DiskCache.Writeback, "none" => DiskCache.None, _ => null };
        cache = mode ?? DiskCache.Writeback;
        if (mode is not null)
            return true;
        error = $"unknown disk cache mode '{text}' (none or writeback)";
        return false;
    }

    /// <summary>The lower-case name of a format, "auto" for probing.</summary>
    public static string Name(DiskImageFormat? format) => format switch
    {
        DiskImageFormat.Raw => "raw", DiskImageFormat.Qcow2 => "qcow2", null => "auto", var other => other.ToString()!,
    };

    /// <summary>The lower-case name of a cache mode.</summary>
    public static string Name(DiskCache cache) => cache switch
    {
        DiskCache.Writeback => "writeback", DiskCache.None => "none", var other => other.ToString(),
    };

    /// <summary>The text that <see cref="Parse"/> reads back as <paramref name="disk"/> (its identity left out).</summary>
    public static string Format(DiskSpec disk)
    {
        var text = new StringBuilder("path=").Append(Escape(disk.Path));
        if (disk.Format is not null)
            text.Append(",format=").Append(Name(disk.Format));
        if (disk.ReadOnly)
            text.Append(",readonly");
        if (disk.Cache != DiskCache.Writeback)
            text.Append(",cache=").Append(Name(disk.Cache));
        if (disk.Serial is not null)
            text.Append(",serial=").Append(Escape(disk.Serial));
        return text.ToString();
    }

    private static string Escape(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    /// <summary>Splits at single commas; ",," is a comma inside an item.</summary>
    private static List<string> Split(string text)
    {
        var items = new List<string>();
        var item = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != ',')
                item.Append(text[i]);
            else if (i + 1 < text.Length && text[i + 1] == ',')
                item.Append(text[++i]);
            else
            {
                items.Add(item.ToString());
                item.Clear();
            }
        }
        items.Add(item.ToString());
        return items;
    }
}
