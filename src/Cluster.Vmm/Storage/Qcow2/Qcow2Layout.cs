namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>
/// The metadata clusters of an image (header, L1 table, refcount table and blocks, active L2
/// tables, snapshot table and snapshot L1 tables), checked at open for overlaps: two structures in
/// one cluster mean a corrupt image that a write would damage further.
/// </summary>
internal static class Qcow2Layout
{
    private readonly record struct Extent(ulong First, ulong End, string What);

    public static void CheckNoOverlap(Qcow2Header header, ulong[] l1, Qcow2Refcounts refcounts,
        IReadOnlyList<Qcow2Snapshot> snapshots, ulong snapshotTableLength, Func<string, VmmException> bad)
    {
        int cb = header.ClusterBits;
        var extents = new List<Extent> { new(0, 1, "the header") };
        void Add(ulong offset, ulong length, string what)
        {
            if (length > 0)
                extents.Add(new Extent(offset >> cb, (offset + length + header.ClusterSize - 1) >> cb, what));
        }
        Add(header.L1TableOffset, (ulong)l1.Length * 8, "the L1 table");
        Add(refcounts.TableOffset, refcounts.TableClusters << cb, "the refcount table");
        for (int i = 0; i < refcounts.Table.Count; i++)
            if (refcounts.Table[i] != 0)
                Add(refcounts.Table[i], header.ClusterSize, $"refcount block {i}");
        for (int i = 0; i < l1.Length; i++)
            if (Qcow2Entry.HostOffset(l1[i]) != 0)
                Add(Qcow2Entry.HostOffset(l1[i]), header.ClusterSize, $"the L2 table of L1 entry {i}");
        if (header.NbSnapshots > 0)
            Add(header.SnapshotsOffset, snapshotTableLength, "the snapshot table");
        foreach (var s in snapshots)
            Add(s.L1Offset, (ulong)s.L1Size * 8, $"the L1 table of snapshot '{s.Name}'");

        extents.Sort((a, b) => a.First.CompareTo(b.First));
        for (int i = 1; i < extents.Count; i++)
        {
            var previous = extents[i - 1];
            if (extents[i].First < previous.End)
                throw bad($"overlapping metadata: {previous.What} and {extents[i].What} both use host cluster {extents[i].First}");
            if (previous.End > extents[i].End)
                extents[i] = extents[i] with { End = previous.End, What = previous.What };
        }
    }
}
