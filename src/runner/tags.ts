// Ansible's tag rules: `--tags` selects tasks with any of the tags (`always` runs
// unless skipped by name; `all`, `tagged`, `untagged` are the special selectors),
// `--skip-tags` removes tasks with any of its tags.
export interface TagSelection {
  only: readonly string[]
  skip: readonly string[]
}

export function isSelected(taskTags: readonly string[], sel: TagSelection): boolean {
  const has = (t: string) => taskTags.includes(t)
  if (sel.skip.some((t) => has(t) || (t === 'tagged' && taskTags.length > 0) || (t === 'untagged' && taskTags.length === 0)))
    return false
  if (sel.only.length === 0 || sel.only.includes('all')) return true
  if (has('always')) return true
  return sel.only.some((t) => has(t) || (t === 'tagged' && taskTags.length > 0) || (t === 'untagged' && taskTags.length === 0))
}
