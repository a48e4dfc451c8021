using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Cluster.Node.Http;

/// <summary>
/// Pagination of the API's listings, <c>?limit=N&amp;after=CURSOR</c>: items in a stable order of a text key (a VM's id, a
/// network's name; for migrations and tokens their start or creation time, then id), a page of at most N items whose key
/// comes after the cursor, and the cursor of the next page: the last key on this one. A cursor is a position, not an
/// item, so a page boundary survives the item being deleted. The audit log pages backwards from its newest record
/// (<c>before=CURSOR</c>), as its listing always showed the last N records. Without parameters a listing answers its first
/// <see cref="PagedListing.DefaultLimit"/> items, as many as before for any cluster of fewer than 1,000 VMs.
/// </summary>
public static class Paging
{
    /// <summary>The largest page of the forward listings, also their default.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Reads limit and cursor; false with <paramref name="error"/> set for a bad limit.</summary>
    public static bool TryRead(IQueryCollection query, PagedListing listing, out PageQuery page, out string? error)
    {
        page = default;
        error = null;
        var limitText = query["limit"].ToString();
        var limit = listing.DefaultLimit;
        if (limitText.Length > 0
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > listing.MaxLimit))
        {
            error = $"'limit' must be a whole number from 1 to {listing.MaxLimit}, not '{limitText}'";
            return false;
        }
        var cursor = query[listing.CursorName].ToString();
        page = new PageQuery(limit, cursor.Length == 0 ? null : cursor);
        return true;
    }

    /// <summary>The page of <paramref name="items"/> after the cursor, by ordinal order of <paramref name="key"/>, and the next page's cursor.</summary>
    public static (IReadOnlyList<T> Items, string? Continue) Forward<T>(IEnumerable<T> items, Func<T, string> key, PageQuery query)
    {
        var after = items.Select(i => (Key: key(i), Item: i))
            .Where(i => query.Cursor is null || string.CompareOrdinal(i.Key, query.Cursor) > 0)
            .OrderBy(i => i.Key, StringComparer.Ordinal)
            .Take(query.Limit + 1)
            .ToList();
        var page = after.Take(query.Limit).ToList();
        return ([.. page.Select(i => i.Item)], after.Count > query.Limit ? page[^1].Key : null);
    }

    /// <summary>The newest page of <paramref name="items"/> before the cursor, oldest first, and the older page's cursor.</summary>
    public static (IReadOnlyList<T> Items, string? Continue) Backward<T>(IEnumerable<T> items, Func<T, string> key, PageQuery query)
    {
        var before = items.Select(i => (Key: key(i), Item: i))
            .Where(i => query.Cursor is null || string.CompareOrdinal(i.Key, query.Cursor) < 0)
            .OrderByDescending(i => i.Key, StringComparer.Ordinal)
            .Take(query.Limit + 1)
            .ToList();
        var page = before.Take(query.Limit).Reverse().ToList();
        return ([.. page.Select(i => i.Item)], before.Count > query.Limit ? page[0].Key : null);
    }

    /// <summary>The request for the page after this one (same path, so the same API version), or null on the last page.</summary>
    public static string? Next(HttpRequest request, PagedListing listing, PageQuery query, string? next) =>
        next is null ? null
            : $"{request.PathBase}{request.Path}?limit={query.Limit.ToString(CultureInfo.InvariantCulture)}&{listing.CursorName}={Uri.EscapeDataString(next)}";

    /// <summary>A key that orders by time first: the UTC ticks, zero-padded so that text order is time order, then <paramref name="id"/>.</summary>
    public static string TimeKey(DateTime at, string id) => $"{at.ToUniversalTime().Ticks:D19}.{id}";
}
