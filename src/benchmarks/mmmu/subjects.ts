/**
 * MMMU's 30 subjects (the hub dataset's configs) in the authors' six disciplines
 * (DOMAIN_CAT2SUB_CAT in the authors' data_utils.py), in their order; print_results reports each
 * discipline's accuracy over its questions (instance level), then the overall one.
 */
export const MMMU_SUBJECTS_BY_DISCIPLINE = {
  "Art and Design": ["Art", "Art_Theory", "Design", "Music"],
  Business: ["Accounting", "Economics", "Finance", "Manage", "Marketing"],
  Science: ["Biology", "Chemistry", "Geography", "Math", "Physics"],
  "Health and Medicine": [
    "Basic_Medical_Science",
    "Clinical_Medicine",
    "Diagnostics_and_Laboratory_Medicine",
    "Pharmacy",
    "Public_Health",
  ],
  "Humanities and Social Science": ["History", "Literature", "Sociology", "Psychology"],
  "Tech and Engineering": [
    "Agriculture",
    "Architecture_and_Engineering",
    "Computer_Science",
    "Electronics",
    "Energy_and_Power",
    "Materials",
    "Mechanical_Engineering",
  ],
} as const;

export type MmmuDiscipline = keyof typeof MMMU_SUBJECTS_BY_DISCIPLINE;
export const MMMU_DISCIPLINES = Object.keys(MMMU_SUBJECTS_BY_DISCIPLINE) as MmmuDiscipline[];
export const MMMU_SUBJECTS: readonly string[] = Object.values(MMMU_SUBJECTS_BY_DISCIPLINE).flat();

const DISCIPLINE_OF = new Map<string, MmmuDiscipline>(
  MMMU_DISCIPLINES.flatMap((d) => MMMU_SUBJECTS_BY_DISCIPLINE[d].map((s) => [s, d] as const)),
);

/** The discipline of a subject (its config name, e.g. "Art_Theory"); undefined for an unknown one. */
export function disciplineOf(subject: string): MmmuDiscipline | undefined {
  return DISCIPLINE_OF.get(subject);
}
