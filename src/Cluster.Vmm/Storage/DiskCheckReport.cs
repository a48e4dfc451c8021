using System.Globalization;
using System.Text;

namespace Cluster.Vmm.Storage;

/// <summary>
/// What a consistency check of a qcow2 image found: clusters whose stored refcount is below the
/// references to them (errors: a write could corrupt data), above them (leaks: wasted space), and
/// wrong "copied" flags (errors), with the allocation figures qemu-img check prints.
/// </summary>
/// <param name="Errors">Refcounts below the references, wrong copied flags, references outside the file.</param>
/// <param name="Leaks">Clusters with a refcount above their references.</param>
/// <param name="Findings">One line per problem, worded as qemu-img check words them.</param>
/// <param name="AllocatedClusters">Guest clusters with data in this image (not the backing file).</param>
/// <param name="TotalClusters">Guest clusters of the virtual disk.</param>
/// <param name="FragmentedClusters">Allocated clusters not right after the previous one in the file.</param>
/// <param name="CompressedClusters">Compressed guest clusters.</param>
/// <param name="ImageEndOffset">The end of the last cluster in use.</param>
public sealed record DiskCheckReport(
    int Errors, int Leaks, IReadOnlyList<string> Findings,
    ulong AllocatedClusters, ulong TotalClusters, ulong FragmentedClusters, ulong CompressedClusters, ulong ImageEndOffset)
{
    /// <summary>The report as qemu-img check prints it.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        foreach (var finding in Findings)
            text.AppendLine(finding);
        if (Errors == 0 && Leaks == 0)
        {
            text.AppendLine("No errors were found on the image.");
        }
        else
        {
            if (Errors > 0)
            {
                text.AppendLine();
                text.AppendLine(CultureInfo.InvariantCulture, $"{Errors} errors were found on the image.");
                text.AppendLine("Data may be corrupted, or further writes to the image may corrupt it.");
            }
            if (Leaks > 0)
            {
                text.AppendLine();
                text.AppendLine(CultureInfo.InvariantCulture, $"{Leaks} leaked clusters were found on the image.");
                text.AppendLine("This means waste of disk space, but no harm to data.");
            }
        }
        double Percent(ulong n, ulong of) => of == 0 ? 0 : 100.0 * n / of;
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{AllocatedClusters}/{TotalClusters} = {Percent(AllocatedClusters, TotalClusters):F2}% allocated, {Percent(FragmentedClusters, AllocatedClusters):F2}% fragmented, {Percent(CompressedClusters, AllocatedClusters):F2}% compressed clusters");
        text.AppendLine(CultureInfo.InvariantCulture, $"Image end offset: {ImageEndOffset}");
        return text.ToString();
    }
}
