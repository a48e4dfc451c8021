namespace Cluster.Vmctl.Output;

/// <summary>How vmctl prints results (<c>-o FORMAT</c>; <c>--json</c> is <c>-o json</c>).</summary>
public enum OutputFormat
{
    /// <summary>Aligned columns under a header line.</summary>
    Table,

    /// <summary>The table with more columns (labels, disks, NICs, ...).</summary>
    Wide,

    /// <summary>Indented JSON, camelCase names.</summary>
    Json,

    /// <summary>YAML with the same names as the JSON.</summary>
    Yaml,
}

/// <summary>Reads <c>-o</c>/<c>--output</c> values.</summary>
public static class OutputFormats
{
    /// <summary>The format named <paramref name="text"/> (table, wide, json, yaml), or null.</summary>
    public static OutputFormat? Parse(string text) => text switch
    {
        "table" => OutputFormat.Table,
        "wide" => OutputFormat.Wide,
        "json" => OutputFormat.Json,
        "yaml" or "yml" => OutputFormat.Yaml,
        _ => null,
    };
}
