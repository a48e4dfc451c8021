using System.Globalization;

namespace Cluster.Contracts.Validation;

/// <summary>A host's name as the control plane takes it: <c>HOST:PORT</c> (what <c>vmctl nodes</c> lists).</summary>
public static class HostText
{
    /// <summary>Whether <paramref name="text"/> is HOST:PORT with a DNS name or IPv4 address of at most 253 characters and a port 1-65535.</summary>
    public static bool IsValid(string? text)
    {
        if (text is null || text.Length > 259)
            return false;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
            return false;
        var host = text.AsSpan(0, colon);
        return host.Length <= 253 && !host.ContainsAnyExcept(HostChars) && host[0] != '-' && host[0] != '.';
    }

    private static readonly System.Buffers.SearchValues<char> HostChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
}
