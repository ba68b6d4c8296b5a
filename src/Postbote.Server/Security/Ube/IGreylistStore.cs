namespace Postbote.Security.Ube;

/// <summary>
/// Where greylisting keeps its triplets. The embedded default is <see cref="FileGreylistStore"/> (a file in
/// <c>{data_dir}/greylist/</c>); servers that share their greylist would put a database behind this interface. Keys are
/// opaque fixed-length strings (<see cref="GreylistTriplet.Key"/>). Implementations are thread-safe.
/// </summary>
public interface IGreylistStore : IDisposable
{
    /// <summary>The triplets kept.</summary>
    int Count { get; }

    /// <summary>Looks a triplet up.</summary>
    /// <param name="key">The triplet's key.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>The entry, or <c>null</c> when unknown.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<GreylistEntry?> FindAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores (adds or replaces) a triplet's entry.</summary>
    /// <param name="key">The triplet's key.</param>
    /// <param name="entry">The entry.</param>
    /// <param name="cancellationToken">Cancelled when the connection is aborted.</param>
    /// <returns>A task that completes when stored.</returns>
    /// <exception cref="IOException">The store could not be written (the entry is kept in memory all the same).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask PutAsync(string key, GreylistEntry entry, CancellationToken cancellationToken);
}
