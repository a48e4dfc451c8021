using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Cluster.Node.Http.Requests;

/// <summary>
/// The body of <c>POST /api/v1/vms</c>: a VM spec as JSON. Only <see cref="Id"/> and <see cref="Image"/> are required;
/// <see cref="SpecJson"/> turns it into a <see cref="Contracts.Vms.VmSpec"/> and the spec validator behind the control
/// entry point checks the values.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record VmSpecRequest
{
    /// <summary>The VM's id.</summary>
    [Description("The VM's id (lower-case letters, digits and '-').")]
    public required string Id { get; init; }

    /// <summary>A name for people; the id when absent.</summary>
    public string? Name { get; init; }

    /// <summary>Virtual CPUs (1 when absent).</summary>
    public int? Vcpus { get; init; }

    /// <summary>Guest memory: bytes, or a size like "64M" (16 MiB when absent).</summary>
    [Description("Guest memory: a number of bytes or a size like \"64M\" (16 MiB when absent).")]
    public JsonSize? Memory { get; init; }

    /// <summary>The built-in guest image to boot.</summary>
    [Description("The built-in guest image to boot.")]
    public required string Image { get; init; }

    /// <summary>Arguments for the guest.</summary>
    public IReadOnlyList<string>? Args { get; init; }

    /// <summary>Labels (require.KEY labels constrain placement).</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>VMs of one anti-affinity group are placed on different hosts.</summary>
    public string? AntiAffinity { get; init; }

    /// <summary>Placement priority (0 when absent).</summary>
    public int? Priority { get; init; }

    /// <summary>The restart policy: never (default), on-failure or always.</summary>
    [Description("never (default), on-failure or always.")]
    public string? Restart { get; init; }

    /// <summary>How often the restart policy boots it again (0 for never, 3 otherwise, when absent).</summary>
    public int? MaxRestarts { get; init; }

    /// <summary>Disk images attached to the VM.</summary>
    public IReadOnlyList<DiskRequest>? Disks { get; init; }

    /// <summary>Network interfaces; the cluster assigns their addresses.</summary>
    public IReadOnlyList<NicRequest>? Nics { get; init; }

    /// <summary>Whether to start the VM once it is created.</summary>
    public bool? Start { get; init; }
}
