using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>One disk of a <see cref="VmSpecRequest"/>; format and cache go through the disk syntax's own value parsers.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record DiskRequest
{
    /// <summary>The image file on the host.</summary>
    public required string Path { get; init; }

    /// <summary>raw or qcow2; probed when absent.</summary>
    [Description("raw or qcow2; probed from the file when absent.")]
    public string? Format { get; init; }

    /// <summary>Whether the guest may only read the disk.</summary>
    /// <remarks>Settable, not init-only, as is <see cref="ReadOnly"/>: the serializer would bind init-only members to a
    /// constructor by case-insensitive name, where the two spellings collide.</remarks>
    [JsonPropertyName("readonly")]
    public bool? Readonly { get; set; }

    /// <summary>The same as <see cref="Readonly"/>, spelt as <c>GET /api/v1/vms/{id}</c> shows it, so what it shows reads back.</summary>
    public bool? ReadOnly { get; set; }

    /// <summary>none or writeback.</summary>
    [Description("none (default) or writeback.")]
    public string? Cache { get; init; }

    /// <summary>The serial number the guest sees.</summary>
    public string? Serial { get; init; }
}
