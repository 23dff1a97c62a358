/**
 * Exclusion groups: flags sharing a group split one bucket space (1..100,
 * hashed on `"<group>:<subject>"`) into disjoint slices, so no subject is ever
 * in two flags of a group.
 *
 * The rule: members are ordered by creation time (then key), and each member
 * owns the next `rollout` buckets after the members before it. A member keeps
 * its slice while disabled, so switching a flag off and on again brings back
 * the same subjects. Buckets past 100 are owned by nobody.
 *
 * Why creation order: a new flag joining a group lands after every existing
 * member, so it never moves anyone. The one change that would move other
 * subjects — resizing a member while a later member has a slice — is refused
 * when written (see {@link groupChangeProblem}); growing the newest member is
 * always possible. No stateless rule can do better for three or more flags:
 * the slices would have to be fixed positions, i.e. stored.
 */

/** The part of a flag the group layout depends on. */
export interface GroupMember {
  key: string;
  rollout: number;
  group: string | null;
  /** Creation time (ms since epoch, or anything `Date` accepts). */
  createdAt?: Date | string | number | null;
}

/** The buckets `lo..hi` (inclusive) a member owns; empty when hi < lo. */
export interface Slice {
  lo: number;
  hi: number;
}

/** Members of one group in slice order. */
export function orderMembers<T extends GroupMember>(members: readonly T[]): T[] {
  return [...members].sort((a, b) => time(a.createdAt) - time(b.createdAt) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The slice of every grouped flag, by key.
 *
 * @example
 * layoutGroups([{ key: 'a', rollout: 10, group: 'g' }, { key: 'b', rollout: 20, group: 'g' }]);
 * // Map { 'a' => { lo: 1, hi: 10 }, 'b' => { lo: 11, hi: 30 } }
 */
export function layoutGroups(flags: Iterable<GroupMember>): Map<string, Slice> {
  const byGroup = new Map<string, GroupMember[]>();
  for (const f of flags) {
    if (f.group === null) continue;
    const list = byGroup.get(f.group);
    if (list) list.push(f);
    else byGroup.set(f.group, [f]);
  }
  const slices = new Map<string, Slice>();
  for (const members of byGroup.values()) {
    let used = 0;
    for (const m of orderMembers(members)) {
      const lo = used + 1;
      used += Math.max(0, m.rollout);
      slices.set(m.key, { lo, hi: Math.min(100, used) });
    }
  }
  return slices;
}

/**
 * Why changing a group's members from `before` to `after` (one flag changed)
 * would be unsafe, or undefined when it is fine: the slices must fit in 100
 * buckets, and no other member with subjects may have its slice moved.
 *
 * @example
 * groupChangeProblem(before, after, 'checkout.a'); // 'would move the subjects of ...'
 */
export function groupChangeProblem(before: readonly GroupMember[], after: readonly GroupMember[], changed: string): string | undefined {
  const group = after.find((m) => m.key === changed)?.group ?? null;
  if (group === null) return undefined;
  const members = after.filter((m) => m.group === group);
  const total = members.reduce((sum, m) => sum + m.rollout, 0);
  if (total > 100) {
    const others = members.filter((m) => m.key !== changed).reduce((s, m) => s + m.rollout, 0);
    return `group "${group}" would need ${total}% of its subjects; the other members hold ${others}%, so "${changed}" can have at most ${Math.max(0, 100 - others)}%`;
  }
  const was = layoutGroups(before);
  const now = layoutGroups(after);
  for (const m of members) {
    if (m.key === changed || m.rollout === 0) continue;
    const a = was.get(m.key);
    const b = now.get(m.key);
    if (a && b && (a.lo !== b.lo || a.hi !== b.hi)) {
      return `changing "${changed}" would move the subjects of "${m.key}" in group "${group}" (slice ${a.lo}-${a.hi} → ${b.lo}-${b.hi}); only the newest member with a share can be resized — set "${m.key}" to 0% first`;
    }
  }
  return undefined;
}

function time(t: GroupMember['createdAt']): number {
  if (t === undefined || t === null) return 0;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(ms) ? ms : 0;
}
