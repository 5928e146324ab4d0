/**
 * Which files of a folder are images, their order and their class labels, from relative paths
 * ('/' separators). No file system here: the page lists the folder the user picked with it.
 */

/** Extensions listed as images (compared case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

export function isImage(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > name.lastIndexOf('/') && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** Code unit order, the order of a folder's files and classes. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sorted relative image paths with labels: each first-level subfolder is a class (label = index in
 * the sorted `classes`, by default the subfolders holding images); files at the top get -1.
 */
export function labelledImages(
  relFiles: readonly string[],
  classes: readonly string[] = [
    ...new Set(relFiles.filter((f) => f.includes('/')).map((f) => f.slice(0, f.indexOf('/')))),
  ].sort(compareNames),
): { files: string[]; labels: Int32Array; classes: string[] } {
  const files = [...relFiles].sort(compareNames);
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const labels = new Int32Array(files.length);
  files.forEach((rel, i) => {
    const slash = rel.indexOf('/');
    labels[i] = slash < 0 ? -1 : (classIndex.get(rel.slice(0, slash)) ?? -1);
  });
  return { files, labels, classes: [...classes] };
}
