using System.Globalization;

namespace Cluster.Serialization.Tls;

/// <summary>
/// The cluster's revocation list: a text file in the CA directory (<see cref="TlsFiles.Revoked"/>) with one certificate
/// serial number (hex, as <c>cluster-node ca issue</c> prints it) per line; <c>#</c> starts a comment. The file is read
/// again whenever its size or modification time changes, so a serial appended on a running node takes effect at the next
/// TLS handshake. A missing file revokes nothing; a line that is not a serial makes the list unusable and every peer is
/// refused (fail closed) until it is fixed.
/// </summary>
public sealed class RevocationList
{
    private readonly string _path;
    private readonly object _gate = new();
    private (DateTime Written, long Length) _seen = (DateTime.MinValue, -1);
    private IReadOnlySet<string> _serials = new HashSet<string>();
    private string? _error;

    public RevocationList(string path) => _path = path;

    /// <summary>The file this list reads.</summary>
    public string Path => _path;

    /// <summary>
    /// Null when <paramref name="serial"/> is acceptable; otherwise why not (revoked, or the list is unreadable).
    /// </summary>
    public string? Check(string serial)
    {
        lock (_gate)
        {
            Refresh();
            if (_error is not null)
                return _error;
            return _serials.Contains(Normalize(serial)) ? $"certificate serial {Normalize(serial)} is revoked ({_path})" : null;
        }
    }

    /// <summary>The serial written in the list for a certificate serial (upper-case hex without leading zeros).</summary>
    public static string Normalize(string serial)
    {
        var trimmed = serial.Trim().Replace(":", "", StringComparison.Ordinal).ToUpperInvariant().TrimStart('0');
        return trimmed.Length == 0 ? "0" : trimmed;
    }

    private void Refresh()
    {
        var info = new FileInfo(_path);
        var now = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
        if (now == _seen)
            return;
        _seen = now;
        if (!info.Exists)
        {
            (_serials, _error) = (new HashSet<string>(), null);
            return;
        }
        try
        {
            (_serials, _error) = Parse(File.ReadAllLines(_path), _path);
        }
        catch (IOException e)
        {
            (_serials, _error) = (new HashSet<string>(), $"revocation list {_path} cannot be read: {e.Message}");
            _seen = (DateTime.MinValue, -2);
        }
    }

    /// <summary>The serials of the lines, or the first bad line as an error.</summary>
    public static (IReadOnlySet<string> Serials, string? Error) Parse(IReadOnlyList<string> lines, string path)
    {
        var serials = new HashSet<string>();
        for (var i = 0; i < lines.Count; i++)
        {
            var text = lines[i];
            var hash = text.IndexOf('#', StringComparison.Ordinal);
            var serial = (hash >= 0 ? text[..hash] : text).Trim();
            if (serial.Length == 0)
                continue;
            var normalized = Normalize(serial);
            if (!normalized.All(Uri.IsHexDigit) || !BigIntegerFits(normalized))
                return (new HashSet<string>(), $"revocation list {path} line {i + 1} is not a certificate serial: '{serial}'");
            serials.Add(normalized);
        }
        return (serials, null);
    }

    private static bool BigIntegerFits(string hex) =>
        hex.Length <= 40 && System.Numerics.BigInteger.TryParse("0" + hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _);
}
