namespace Postbote.Security.Users;

/// <summary>
/// The accounts that may authenticate. The embedded default is <see cref="FileUserStore"/>; a database can implement the
/// same contract when several nodes share their users. Names are compared case-insensitively.
/// </summary>
public interface IUserStore
{
    /// <summary>Looks up a user by login name.</summary>
    /// <param name="name">The login, compared case-insensitively.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The user, or <c>null</c> when there is none of that name.</returns>
    ValueTask<UserRecord?> FindAsync(string name, CancellationToken cancellationToken);

    /// <summary>All users, ordered by name.</summary>
    /// <returns>A snapshot; later changes do not show in it.</returns>
    IReadOnlyList<UserRecord> List();

    /// <summary>Adds a user, or replaces the user of the same name (case-insensitively), durably.</summary>
    /// <param name="user">The user.</param>
    /// <exception cref="ArgumentException">The record is not valid (empty or malformed name, hash or SCRAM verifier).</exception>
    /// <exception cref="IOException">The store cannot be written.</exception>
    void AddOrUpdate(UserRecord user);

    /// <summary>Removes a user, durably.</summary>
    /// <param name="name">The login, compared case-insensitively.</param>
    /// <returns><c>true</c> when the user existed.</returns>
    /// <exception cref="IOException">The store cannot be written.</exception>
    bool Remove(string name);
}
