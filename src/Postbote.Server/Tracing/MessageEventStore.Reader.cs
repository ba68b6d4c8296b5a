using Postbote.Core;

namespace Postbote.Tracing;

public sealed partial class MessageEventStore
{
    /// <summary>
    /// Finds the whole life of a message in a store directory: every event of the message named by
    /// <paramref name="query"/>, a queue ID (any case) or a Message-ID (with or without its angle brackets), and of the
    /// messages linked to it: a notification's original and an original's notifications. Reads the files only, so it
    /// works with the server stopped as well as beside a running one.
    /// </summary>
    /// <param name="directory">The store's directory.</param>
    /// <param name="query">A queue ID or a Message-ID.</param>
    /// <param name="progress">Called now and then with the bytes read so far and the bytes to read in all (for a
    /// progress line), or <c>null</c>.</param>
    /// <param name="cancellationToken">Stops the search.</param>
    /// <returns>The events in the order they happened (by time, then as stored), and the counts for a summary.</returns>
    /// <exception cref="IOException">A segment cannot be read.</exception>
    public static TraceResult Find(string directory, string query, Action<long, long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(query);
        var segments = Segments(directory);
        string trimmed = query.Trim();
        string upper = trimmed.ToUpperInvariant();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (QueueId.IsValid(upper)) ids.Add(upper);
        string messageId = trimmed.TrimStart('<').TrimEnd('>');
        long total = segments.Sum(s => s.Length) * 2;
        long read = 0;
        // First the messages: the one asked for, then those linked to it (a notification and its original), until no new
        // one is found (at most four rounds: an original, its notice, and nothing links further).
        for (int round = 0; round < 4; round++)
        {
            int before = ids.Count;
            foreach (var s in segments)
            {
                foreach (string line in Lines(s.Path, cancellationToken))
                {
                    bool candidate = ids.Any(id => line.Contains(id, StringComparison.Ordinal))
                        || (messageId.Length > 0 && line.Contains(messageId, StringComparison.Ordinal));
                    if (!candidate || !EventLine.TryParse(line, out TracedEvent? t)) continue;
                    MessageEvent e = t.Event;
                    if (ids.Contains(t.Id.Value) || (e.Related is { } r && ids.Contains(r))
                        || (e.MessageId is { } m && messageId.Length > 0 && string.Equals(m.Trim().TrimStart('<').TrimEnd('>'), messageId, StringComparison.Ordinal)))
                    {
                        ids.Add(t.Id.Value);
                        if (e.Related is { } related && QueueId.IsValid(related)) ids.Add(related);
                    }
                }
                if (round == 0)
                {
                    read += s.Length;
                    progress?.Invoke(read, total);
                }
            }
            if (ids.Count == before) break;
        }
        var found = new List<TracedEvent>();
        long lines = 0;
        foreach (var s in segments)
        {
            foreach (string line in Lines(s.Path, cancellationToken))
            {
                lines++;
                if (line.Length < 8 || !ids.Any(id => line.Contains(id, StringComparison.Ordinal))) continue;
                if (EventLine.TryParse(line, out TracedEvent? t) && ids.Contains(t.Id.Value)) found.Add(t);
            }
            read += s.Length;
            progress?.Invoke(read, total);
        }
        // Stable: events of one time stay in the order they were written.
        var ordered = found.Select((t, i) => (t, i)).OrderBy(x => x.t.Event.Time).ThenBy(x => x.i).Select(x => x.t).ToList();
        return new TraceResult(ordered, segments.Count, total / 2, lines);
    }

    /// <summary>As <see cref="Find"/> in this store's directory, after the events recorded so far are written.</summary>
    /// <param name="query">A queue ID or a Message-ID.</param>
    /// <param name="cancellationToken">Stops the search.</param>
    /// <returns>What was found.</returns>
    /// <exception cref="IOException">A segment cannot be read.</exception>
    public async Task<TraceResult> FindAsync(string query, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await Task.Run(() => Find(_options.Directory, query, null, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The lines of a segment; a segment deleted meanwhile (pruned) has none.</summary>
    private static IEnumerable<string> Lines(string path, CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
        }
        catch (FileNotFoundException)
        {
            yield break;
        }
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return line;
        }
    }
}
