using System.Text.RegularExpressions;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;

namespace Cluster.Contracts.Validation;

/// <summary>
/// The one place where VM specs are checked. It rejects, naming the field, what no node could run:
/// bad ids or names, zero or absurd memory, too many vCPUs, unknown built-in images, missing files, disks that are not
/// absolute paths, repeated or too many disks, bad serial numbers, bad NICs (<see cref="NetworkSpecValidator.CheckNics"/>). Whether a disk's image exists is placement's concern (a
/// disk lives on shared storage that some hosts see and others not), not this node's.
/// Duplicate ids are not its concern: the registry refuses those.
/// </summary>
public sealed partial class VmSpecValidator(VmSpecLimits limits)
{
    private const ulong PageSize = 4096;

    /// <summary>The most disks a VM may have unless the limits say otherwise.</summary>
    public const int DefaultMaxDisks = 16;

    /// <summary>The longest disk serial number, in ASCII bytes (virtio-blk's GET_ID answers 20 bytes).</summary>
    public const int MaxDiskSerialBytes = 20;

    /// <summary>The limits this validator applies.</summary>
    public VmSpecLimits Limits { get; } = limits;

    /// <summary>Checks a VM id alone (lower-case letters, digits and '-', 1-63 characters, starting with a letter or digit).</summary>
    public static ValidationFailed? CheckId(string? id) =>
        id is null || !IdPattern().IsMatch(id)
            ? new ValidationFailed("id", $"'{id}' is not a valid id: use 1-63 of a-z, 0-9 and '-', starting with a letter or digit")
            : null;

    /// <summary>Returns the first problem of <paramref name="spec"/>, or null when it is valid.</summary>
    public ValidationFailed? Validate(VmSpec? spec)
    {
        if (spec is null)
            return new ValidationFailed("spec", "no spec given");
        if (CheckId(spec.Id) is { } badId)
            return badId;
        if (spec.Name is null || !NamePattern().IsMatch(spec.Name))
            return new ValidationFailed("name", $"'{spec.Name}' is not a valid name: use 1-64 of letters, digits, ' ', '.', '_' and '-'");
        if (spec.Vcpus < 1 || spec.Vcpus > Limits.MaxVcpus)
            return new ValidationFailed("vcpus", $"{spec.Vcpus} vCPUs is outside 1..{Limits.MaxVcpus}");
        if (spec.MemoryBytes < Limits.MinMemoryBytes || spec.MemoryBytes > Limits.MaxMemoryBytes)
            return new ValidationFailed("memory", $"{spec.MemoryBytes} bytes is outside {Limits.MinMemoryBytes}..{Limits.MaxMemoryBytes}");
        if (spec.MemoryBytes % PageSize != 0)
            return new ValidationFailed("memory", $"{spec.MemoryBytes} bytes is not a multiple of {PageSize}");
        if (spec.Args is null || spec.Args.Count > Limits.MaxListEntries || spec.Args.Any(a => a is null))
            return new ValidationFailed("args", $"args must be at most {Limits.MaxListEntries} non-null strings");
        if (spec.Labels is null || spec.Labels.Count > Limits.MaxListEntries
            || spec.Labels.Any(l => !LabelPattern().IsMatch(l.Key) || l.Value is null))
            return new ValidationFailed("labels", $"labels must be at most {Limits.MaxListEntries}, keys of 1-63 of a-z, 0-9, '.', '_', '/' and '-'");
        if (spec.AntiAffinityGroup is not null && !LabelPattern().IsMatch(spec.AntiAffinityGroup))
            return new ValidationFailed("antiAffinityGroup", $"'{spec.AntiAffinityGroup}' is not a valid group name");
        if (spec.Restart is null || !Enum.IsDefined(spec.Restart.Mode)
            || spec.Restart.MaxRestarts < 0 || spec.Restart.MaxRestarts > Limits.MaxRestarts)
            return new ValidationFailed("restart", $"restart policy needs a known mode and 0..{Limits.MaxRestarts} restarts");
        return ValidateImage(spec.Image) ?? CheckDisks(spec.Disks, Limits.MaxDisks) ?? NetworkSpecValidator.CheckNics(spec.Nics);
    }

    /// <summary>
    /// Checks a VM's disks alone (also for <c>cluster-node vmm run</c>, which has no spec): absolute paths, none twice,
    /// at most <paramref name="maxDisks"/>, known formats and cache modes, serials of printable ASCII up to
    /// <see cref="MaxDiskSerialBytes"/>.
    /// </summary>
    public static ValidationFailed? CheckDisks(IReadOnlyList<DiskSpec>? disks, int maxDisks = DefaultMaxDisks)
    {
        if (disks is null)
            return new ValidationFailed("disks", "disks must be a list (empty for none)");
        if (disks.Count > maxDisks)
            return new ValidationFailed("disks", $"{disks.Count} disks is more than {maxDisks}");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var disk in disks)
        {
            if (disk is null)
                return new ValidationFailed("disks", "a disk is null");
            if (string.IsNullOrEmpty(disk.Path) || !Path.IsPathFullyQualified(disk.Path))
                return new ValidationFailed("disks", $"disk path '{disk.Path}' is not absolute (give the path every host sees the image at)");
            if (!seen.Add(Path.GetFullPath(disk.Path)))
                return new ValidationFailed("disks", $"disk path '{disk.Path}' is given twice");
            if (disk.Format is { } format && !Enum.IsDefined(format))
                return new ValidationFailed("disks", $"disk '{disk.Path}': unknown format {(int)format} (raw or qcow2)");
            if (!Enum.IsDefined(disk.Cache))
                return new ValidationFailed("disks", $"disk '{disk.Path}': unknown cache mode {(int)disk.Cache} (none or writeback)");
            if (disk.Serial is { } serial && (serial.Length > MaxDiskSerialBytes || serial.Any(ch => ch < 0x20 || ch > 0x7e)))
                return new ValidationFailed("disks",
                    $"disk '{disk.Path}': serial '{serial}' must be at most {MaxDiskSerialBytes} printable ASCII bytes");
            if (disk.Identity is { } identity && !Guid.TryParseExact(identity, "D", out _))
                return new ValidationFailed("disks", $"disk '{disk.Path}': identity '{identity}' is not a UUID");
        }
        return null;
    }

    private ValidationFailed? ValidateImage(GuestImageSpec? image) => image switch
    {
        null => new ValidationFailed("image", "no image given"),
        BuiltInImage b when !Limits.BuiltInImages.Contains(b.Name) =>
            new ValidationFailed("image", $"unknown built-in image '{b.Name}'; known: {string.Join(", ", Limits.BuiltInImages.Order())}"),
        ElfImage e => MissingFile("image", e.Path),
        LinuxImage l => MissingFile("kernel", l.KernelPath)
            ?? (l.InitrdPath is null ? null : MissingFile("initrd", l.InitrdPath))
            ?? (l.CommandLine is null || l.CommandLine.Length > 2048
                ? new ValidationFailed("cmdline", "the kernel command line must be at most 2048 characters")
                : null),
        _ => null,
    };

    private static ValidationFailed? MissingFile(string field, string? path) =>
        string.IsNullOrEmpty(path) || !Path.IsPathFullyQualified(path) || !File.Exists(path)
            ? new ValidationFailed(field, $"'{path}' is not an absolute path to an existing file")
            : null;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[A-Za-z0-9 ._-]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9._/-]{0,62}$")]
    private static partial Regex LabelPattern();
}
