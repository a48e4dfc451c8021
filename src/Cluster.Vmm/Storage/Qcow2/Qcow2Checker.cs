using Cluster.Vmm.Storage.Files;

namespace Cluster.Vmm.Storage.Qcow2;

/// <summary>
/// Recounts every reference in an image (header, L1 tables of the image and of its snapshots, L2
/// tables, data and compressed clusters, the snapshot table, the refcount table and blocks) and
/// compares the count with the stored refcounts, as qemu-img check does. Read only.
/// </summary>
internal static class Qcow2Checker
{
    public static DiskCheckReport Check(IImageFile file)
    {
        string path = file.Path;
        VmmException Bad(string problem) => new($"{path}: not a usable qcow2 image: {problem}", "disk-check");
        var header = Qcow2Header.Read(file);
        var refcounts = Qcow2Refcounts.Load(file, header, Bad);
        var (snapshots, snapshotTableLength) = Qcow2Snapshots.Read(file, header, Bad);
        return new Counter(file, header, refcounts).Run(snapshots, snapshotTableLength);
    }

    private sealed class Counter(IImageFile file, Qcow2Header header, Qcow2Refcounts refcounts)
    {
        private readonly int _cb = header.ClusterBits;
        private readonly ulong _cs = header.ClusterSize;
        private readonly ulong _fileClusters = ((ulong)file.Length + header.ClusterSize - 1) >> header.ClusterBits;
        private readonly List<string> _findings = [];
        private ulong[] _references = [];
        private int _errors, _leaks;
        private ulong _allocated, _fragmented, _compressed;

        public DiskCheckReport Run(IReadOnlyList<Qcow2Snapshot> snapshots, ulong snapshotTableLength)
        {
            _references = new ulong[_fileClusters];
            Reference(0, _cs);
            var activeL1 = Qcow2Tables.Read(file, header.L1TableOffset, header.L1Size);
            WalkL1(header.L1TableOffset, activeL1, active: true);
            if (header.NbSnapshots > 0)
                Reference(header.SnapshotsOffset, snapshotTableLength);
            foreach (var s in snapshots)
                WalkL1(s.L1Offset, Qcow2Tables.Read(file, s.L1Offset, s.L1Size), active: false);
            Reference(refcounts.TableOffset, refcounts.TableClusters << _cb);
            foreach (ulong block in refcounts.Table)
                if (block != 0)
                    Reference(block, _cs);

            // As qemu-img: clusters past the end of the file are not compared (a refcount there is harmless).
            ulong highest = 0;
            for (ulong c = 0; c < _fileClusters; c++)
            {
                ulong stored = refcounts.Get(c);
                ulong counted = _references[c];
                if (stored > 0 || counted > 0)
                    highest = c + 1;
                if (stored < counted)
                {
                    _errors++;
                    _findings.Add($"ERROR cluster {c} refcount={stored} reference={counted}");
                }
                else if (stored > counted)
                {
                    _leaks++;
                    _findings.Add($"Leaked cluster {c} refcount={stored} reference={counted}");
                }
            }
            CheckCopiedFlags(activeL1);
            ulong total = (header.Size + _cs - 1) >> _cb;
            return new DiskCheckReport(_errors, _leaks, _findings, _allocated, total, _fragmented, _compressed, highest << _cb);
        }

        private void WalkL1(ulong l1Offset, ulong[] l1, bool active)
        {
            Reference(l1Offset, (ulong)l1.Length * 8);
            ulong previous = 0;
            for (int i = 0; i < l1.Length; i++)
            {
                ulong l2Offset = Qcow2Entry.HostOffset(l1[i]);
                if (l2Offset == 0)
                    continue;
                if (!Aligned(l2Offset, $"L1 entry {i}") || !Reference(l2Offset, _cs))
                    continue;
                var l2 = Qcow2Tables.Read(file, l2Offset, _cs / 8);
                for (int j = 0; j < l2.Length; j++)
                {
                    ulong e = l2[j];
                    switch (Qcow2Entry.Kind(e, header.Version))
                    {
                        case Qcow2ClusterKind.Compressed:
                            var (offset, length) = Qcow2Entry.CompressedRange(e, _cb);
                            Reference(offset & ~511UL, length + (offset & 511));
                            if (active)
                            {
                                _allocated++;
                                _compressed++;
                            }
                            break;
                        case Qcow2ClusterKind.Normal or Qcow2ClusterKind.Zero when Qcow2Entry.HostOffset(e) != 0:
                            ulong host = Qcow2Entry.HostOffset(e);
                            if (!Aligned(host, $"L2 entry {j} of the L2 table at 0x{l2Offset:x}"))
                                break;
                            Reference(host, _cs);
                            if (active && Qcow2Entry.Kind(e, header.Version) == Qcow2ClusterKind.Normal)
                            {
                                _allocated++;
                                if (previous != 0 && host != previous + _cs)
                                    _fragmented++;
                                previous = host;
                            }
                            break;
                    }
                }
            }
        }

        private void CheckCopiedFlags(ulong[] l1)
        {
            for (int i = 0; i < l1.Length; i++)
            {
                ulong l2Offset = Qcow2Entry.HostOffset(l1[i]);
                if (l2Offset == 0 || l2Offset % _cs != 0 || (l2Offset >> _cb) >= _fileClusters)
                    continue;
                ulong r = refcounts.Get(l2Offset >> _cb);
                if (((l1[i] & Qcow2Entry.Copied) != 0) != (r == 1))
                {
                    _errors++;
                    _findings.Add($"ERROR OFLAG_COPIED L2 cluster: l1_index={i} l1_entry={l1[i]:x} refcount={r}");
                }
                foreach (ulong e in Qcow2Tables.Read(file, l2Offset, _cs / 8))
                {
                    var kind = Qcow2Entry.Kind(e, header.Version);
                    ulong host = Qcow2Entry.HostOffset(e);
                    if (kind is not (Qcow2ClusterKind.Normal or Qcow2ClusterKind.Zero) || host == 0 || host % _cs != 0)
                        continue;
                    ulong rd = refcounts.Get(host >> _cb);
                    if (((e & Qcow2Entry.Copied) != 0) != (rd == 1))
                    {
                        _errors++;
                        _findings.Add($"ERROR OFLAG_COPIED data cluster: l2_entry={e:x} refcount={rd}");
                    }
                }
            }
        }

        private bool Aligned(ulong offset, string where)
        {
            if (offset % _cs == 0)
                return true;
            _errors++;
            _findings.Add($"ERROR offset={offset:x}: Cluster is not properly aligned; {where} corrupted.");
            return false;
        }

        /// <summary>Counts one reference to each cluster of the range; false (an error) past the end of the file.</summary>
        private bool Reference(ulong offset, ulong length)
        {
            if (length == 0)
                return true;
            bool inside = true;
            for (ulong c = offset >> _cb; c <= (offset + length - 1) >> _cb; c++)
            {
                if (c < _fileClusters)
                {
                    _references[c]++;
                    continue;
                }
                _errors++;
                _findings.Add($"ERROR: cluster {c} (offset 0x{c << _cb:x}) is referenced but lies past the end of the file");
                inside = false;
            }
            return inside;
        }
    }
}
